// Per-client protocol settings beyond the code flow basics, shared by the CLI and the admin API:
//   - backchannel_logout_uri (OpenID Connect Back-Channel Logout 1.0): where the client hears of sign-outs;
//   - private_key_jwt client authentication (RFC 7523): a jwks_uri or an inline JWKS of public keys, no secret;
//   - require_pushed_authorization_requests (RFC 9126) and dpop_bound_access_tokens (RFC 9449): the FAPI 2.0
//     posture, per client.
// URLs the server will call must be https, or http on loopback (which only a development server, with a loopback
// issuer, actually calls: src/oidc/outbound.ts).
import { InvalidRequest } from '../errors.js';

export const AUTH_METHODS = ['client_secret_basic', 'private_key_jwt'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export interface ProtocolInput {
  /** null: remove (updates only). */
  backchannelLogoutUri?: string | null | undefined;
  /** Confidential clients only; `none` is what --public means. */
  authMethod?: AuthMethod | undefined;
  jwksUri?: string | undefined;
  jwks?: unknown;
  requirePushedAuthorizationRequests?: boolean | undefined;
  dpopBoundAccessTokens?: boolean | undefined;
}

export interface ProtocolView {
  backchannel_logout_uri?: string;
  jwks_uri?: string;
  jwks?: { keys: Record<string, unknown>[] };
  require_pushed_authorization_requests?: true;
  dpop_bound_access_tokens?: true;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

/** An absolute https URL (or http on loopback) without a fragment: a URL the server will call. */
export function checkOutboundUrl(field: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidRequest(`${field} must be an absolute URL`);
  }
  if (url.hash || raw.includes('#')) throw new InvalidRequest(`${field} must not contain a fragment`);
  if (url.username || url.password) throw new InvalidRequest(`${field} must not contain credentials`);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
    throw new InvalidRequest(`${field} must use https (http only on loopback, for development)`);
  }
  return raw;
}

function checkJwks(jwks: unknown): { keys: Record<string, unknown>[] } {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 10)
    throw new InvalidRequest('jwks must be a JWK Set with 1-10 keys');
  for (const key of keys) {
    if (!key || typeof key !== 'object' || typeof (key as { kty?: unknown }).kty !== 'string')
      throw new InvalidRequest('every jwks key needs a kty');
    const members = Object.keys(key as object);
    if (PRIVATE_JWK_MEMBERS.some((m) => members.includes(m)))
      throw new InvalidRequest('jwks must hold public keys only (a private or symmetric key was given)');
  }
  return { keys: keys as Record<string, unknown>[] };
}

/** The token_endpoint_auth_method and the metadata these settings add. `isPublic`: a client without credentials. */
export function buildProtocolMetadata(
  input: ProtocolInput,
  isPublic: boolean,
): { authMethod: string; metadata: Record<string, unknown> } {
  const metadata: Record<string, unknown> = {};
  const authMethod = input.authMethod ?? 'client_secret_basic';
  if (!(AUTH_METHODS as readonly string[]).includes(authMethod))
    throw new InvalidRequest(`auth method must be one of ${AUTH_METHODS.join(', ')}`);
  if (authMethod === 'private_key_jwt') {
    if (isPublic)
      throw new InvalidRequest('a public client has no credentials: private_key_jwt is for confidential clients');
    if ((input.jwksUri === undefined) === (input.jwks === undefined))
      throw new InvalidRequest('private_key_jwt needs exactly one of a jwks_uri and a jwks');
    if (input.jwksUri !== undefined) metadata.jwks_uri = checkOutboundUrl('jwks_uri', input.jwksUri);
    else metadata.jwks = checkJwks(input.jwks);
  } else if (input.jwksUri !== undefined || input.jwks !== undefined) {
    throw new InvalidRequest('jwks_uri and jwks are for private_key_jwt clients');
  }
  if (typeof input.backchannelLogoutUri === 'string')
    metadata.backchannel_logout_uri = checkOutboundUrl('backchannel_logout_uri', input.backchannelLogoutUri);
  // Stored (and shown) only when on, like every optional setting: off is the default.
  if (input.requirePushedAuthorizationRequests) metadata.require_pushed_authorization_requests = true;
  if (input.dpopBoundAccessTokens) metadata.dpop_bound_access_tokens = true;
  return { authMethod: isPublic ? 'none' : authMethod, metadata };
}

/** The current settings of a stored client, as an input (for updates that merge a patch into them). */
export function protocolInputOf(m: Record<string, unknown>): ProtocolInput {
  return {
    backchannelLogoutUri: typeof m.backchannel_logout_uri === 'string' ? m.backchannel_logout_uri : undefined,
    authMethod: m.token_endpoint_auth_method === 'private_key_jwt' ? 'private_key_jwt' : undefined,
    jwksUri: typeof m.jwks_uri === 'string' ? m.jwks_uri : undefined,
    jwks: m.jwks ?? undefined,
    requirePushedAuthorizationRequests:
      typeof m.require_pushed_authorization_requests === 'boolean'
        ? m.require_pushed_authorization_requests
        : undefined,
    dpopBoundAccessTokens: typeof m.dpop_bound_access_tokens === 'boolean' ? m.dpop_bound_access_tokens : undefined,
  };
}

export function toProtocolView(m: Record<string, unknown>): ProtocolView {
  return {
    ...(typeof m.backchannel_logout_uri === 'string'
      ? { backchannel_logout_uri: m.backchannel_logout_uri }
      : undefined),
    ...(typeof m.jwks_uri === 'string' ? { jwks_uri: m.jwks_uri } : undefined),
    ...(m.jwks ? { jwks: m.jwks as { keys: Record<string, unknown>[] } } : undefined),
    ...(m.require_pushed_authorization_requests === true
      ? { require_pushed_authorization_requests: true as const }
      : undefined),
    ...(m.dpop_bound_access_tokens === true ? { dpop_bound_access_tokens: true as const } : undefined),
  };
}

/** Metadata keys these settings own: an update that removes a setting removes its key. */
export const PROTOCOL_KEYS = [
  'backchannel_logout_uri',
  'jwks_uri',
  'jwks',
  'require_pushed_authorization_requests',
  'dpop_bound_access_tokens',
];
