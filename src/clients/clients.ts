// Client registration and management (CLI and admin API). The secret is 256 random bits, returned once and stored
// as an HMAC. Changes that are audited write their events in the same statement (see src/audit/records.ts).
import { randomBytes } from 'node:crypto';

import type { AuditEvent } from '../audit/audit.js';
import type { Client, Prisma, PrismaClient } from '../db/generated/client.js';
import type { TokenHasher } from '../crypto/token-hash.js';
import { InvalidRequest } from '../errors.js';
import { isSigningAlg, type SigningAlg } from '../crypto/signing-algs.js';
import {
  buildProtocolMetadata,
  PROTOCOL_KEYS,
  protocolInputOf,
  toProtocolView,
  type ProtocolInput,
  type ProtocolView,
} from './protocol-metadata.js';
import {
  clientExists,
  deleteClientRow,
  findClient,
  insertClient,
  listClientRows,
  replaceClientSecret,
  updateClientRow,
} from './client-queries.js';
import { checkKnownScopes } from './scopes.js';

export const DEFAULT_GRANT_TYPES = ['authorization_code', 'refresh_token'];
export const DEFAULT_SCOPES = 'openid offline_access profile email';
/** RFC 8628: devices without a browser (TVs, CLIs) poll for tokens while the user signs in elsewhere. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8693: a resource server exchanges the access token it received for one to another API (confidential only). */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const SUPPORTED_GRANT_TYPES = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
  DEVICE_CODE_GRANT,
  TOKEN_EXCHANGE_GRANT,
] as const;
const KNOWN_GRANT_TYPES = new Set<string>(SUPPORTED_GRANT_TYPES);
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 §3.3 scope-token

export interface ClientInput extends ProtocolInput {
  name: string;
  redirectUris?: string[];
  public?: boolean;
  grantTypes?: string[];
  scopes?: string;
  admin?: boolean;
  /** The ID token signing algorithm (OpenID Connect Registration §2); unset: the server's SIGNING_KEY_ALG. */
  idTokenSignedResponseAlg?: string | undefined;
  /**
   * OAuth 2.1 §7.5.1: a confidential OpenID Connect client that uses `nonce` may omit PKCE (off by default; the
   * OpenID conformance suite's Basic OP plan sends no PKCE). Enforced in src/oidc/pkce-policy.ts.
   */
  allowNonceInsteadOfPkce?: boolean | undefined;
  /** Scopes the same command is about to define on an API (clients create --resource-server): known already. */
  scopesAboutToBeDefined?: readonly string[];
}

export interface ClientView extends Partial<ProtocolView> {
  client_id: string;
  client_secret?: string;
  client_name: string;
  redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  scope: string;
  token_endpoint_auth_method: string;
  application_type: string;
  /** Present when the client chose one; otherwise ID tokens use the server's default (SIGNING_KEY_ALG). */
  id_token_signed_response_alg?: SigningAlg;
  /** True only for a confidential OpenID Connect client allowed to send `nonce` instead of PKCE (OAuth 2.1 §7.5.1). */
  allow_nonce_instead_of_pkce: boolean;
  admin: boolean;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Exact redirect URIs only (OAuth 2.1 §2.3.1): absolute, no fragment, no wildcards. https, http on loopback
 * (RFC 8252 §7.3), or a private-use scheme with a dot (RFC 8252 §7.1) for native apps.
 */
export function checkRedirectUri(raw: string): 'web' | 'native' {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidRequest(`redirect_uri ${JSON.stringify(raw)} is not an absolute URL`);
  }
  if (url.hash || raw.includes('#'))
    throw new InvalidRequest(`redirect_uri ${JSON.stringify(raw)} must not contain a fragment`);
  if (raw.includes('*')) throw new InvalidRequest(`redirect_uri ${JSON.stringify(raw)} must not contain wildcards`);
  if (url.protocol === 'https:') return 'web';
  if (url.protocol === 'http:') {
    if (LOOPBACK.has(url.hostname)) return 'native';
    throw new InvalidRequest(`redirect_uri ${JSON.stringify(raw)} must use https (http only on loopback)`);
  }
  if (/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/i.test(url.protocol)) return 'native';
  throw new InvalidRequest(
    `redirect_uri ${JSON.stringify(raw)} must use https, loopback http, or a reverse-domain scheme`,
  );
}

/** Turns the input into oidc-provider client metadata (snake_case, without secret). */
export function buildMetadata(input: ClientInput): Omit<ClientView, 'client_id' | 'client_secret' | 'admin'> {
  const name = input.name.trim();
  if (!name || name.length > 200) throw new InvalidRequest('name must be 1-200 characters');
  const grantTypes = input.admin ? ['client_credentials'] : (input.grantTypes ?? DEFAULT_GRANT_TYPES);
  for (const g of grantTypes)
    if (!KNOWN_GRANT_TYPES.has(g)) throw new InvalidRequest(`grant type ${JSON.stringify(g)} is not supported`);
  if (grantTypes.length === 0) throw new InvalidRequest('at least one grant type is required');
  const scope = (input.admin ? 'admin' : (input.scopes ?? DEFAULT_SCOPES)).trim().split(/\s+/).filter(Boolean);
  for (const s of scope) if (!SCOPE_TOKEN.test(s)) throw new InvalidRequest(`scope ${JSON.stringify(s)} is malformed`);

  const usesCode = grantTypes.includes('authorization_code');
  const redirectUris = [...new Set(input.redirectUris ?? [])];
  if (usesCode && redirectUris.length === 0)
    throw new InvalidRequest('authorization_code clients need at least one redirect URI');
  if (!usesCode && redirectUris.length > 0)
    throw new InvalidRequest('redirect URIs are only for authorization_code clients');
  if (grantTypes.includes('refresh_token') && !usesCode && !grantTypes.includes(DEVICE_CODE_GRANT)) {
    throw new InvalidRequest('refresh_token needs authorization_code or the device_code grant');
  }
  if (input.public && grantTypes.includes('client_credentials'))
    throw new InvalidRequest('public clients cannot use client_credentials');
  if (input.public && grantTypes.includes(TOKEN_EXCHANGE_GRANT))
    throw new InvalidRequest('public clients cannot use token exchange');
  const kinds = redirectUris.map(checkRedirectUri);
  const alg = input.idTokenSignedResponseAlg;
  if (alg !== undefined && !isSigningAlg(alg))
    throw new InvalidRequest('id_token_signed_response_alg must be ES256 or RS256');
  const nonceInsteadOfPkce = input.allowNonceInsteadOfPkce === true;
  if (nonceInsteadOfPkce && (input.public || !usesCode || !scope.includes('openid'))) {
    throw new InvalidRequest(
      'allow_nonce_instead_of_pkce is only for confidential OpenID Connect clients (authorization_code, scope openid)',
    );
  }
  const protocol = buildProtocolMetadata(input, Boolean(input.public));

  return {
    client_name: name,
    redirect_uris: redirectUris,
    grant_types: grantTypes,
    response_types: usesCode ? ['code'] : [],
    scope: scope.join(' '),
    token_endpoint_auth_method: protocol.authMethod,
    application_type: kinds.includes('native') ? 'native' : 'web',
    ...(alg ? { id_token_signed_response_alg: alg } : undefined),
    allow_nonce_instead_of_pkce: nonceInsteadOfPkce,
    ...protocol.metadata,
  };
}

const newSecret = () => randomBytes(32).toString('base64url');

/** Registers a client; `events` (e.g. client.created) are written by the same statement, with its client_id. */
export async function createClient(
  prisma: PrismaClient,
  hash: TokenHasher,
  input: ClientInput,
  events: AuditEvent[] = [],
): Promise<ClientView> {
  const metadata = buildMetadata(input);
  await checkKnownScopes(prisma, metadata.scope, input.scopesAboutToBeDefined);
  const clientId = randomBytes(16).toString('base64url');
  // Public clients have no credentials; private_key_jwt clients authenticate with their keys.
  const secret = input.public || metadata.token_endpoint_auth_method === 'private_key_jwt' ? undefined : newSecret();
  await insertClient(
    prisma,
    {
      clientId,
      name: metadata.client_name,
      secretHash: secret ? hash(secret) : null,
      metadata,
      isAdmin: Boolean(input.admin),
    },
    events,
  );
  return {
    client_id: clientId,
    ...(secret ? { client_secret: secret } : undefined),
    ...metadata,
    admin: Boolean(input.admin),
  };
}

/**
 * Issues a new secret (shown once); the old one stops working at once. Undefined for an unknown client. `events`
 * (client.secret_rotated) are written by the same statement.
 */
export async function rotateClientSecret(
  prisma: PrismaClient,
  hash: TokenHasher,
  clientId: string,
  events: AuditEvent[] = [],
): Promise<string | undefined> {
  const secret = newSecret();
  if (await replaceClientSecret(prisma, clientId, hash(secret), events)) return secret;
  if (await clientExists(prisma, clientId)) throw new InvalidRequest('public clients have no secret');
  return undefined;
}

/** The public view of a stored client (never its secret hash). */
export function toClientView(row: Client): ClientView {
  const m = row.metadata as Partial<ClientView>;
  return {
    client_id: row.clientId,
    client_name: row.name,
    redirect_uris: m.redirect_uris ?? [],
    grant_types: m.grant_types ?? [],
    response_types: m.response_types ?? [],
    scope: m.scope ?? '',
    token_endpoint_auth_method: m.token_endpoint_auth_method ?? 'client_secret_basic',
    application_type: m.application_type ?? 'web',
    ...(m.id_token_signed_response_alg ? { id_token_signed_response_alg: m.id_token_signed_response_alg } : undefined),
    allow_nonce_instead_of_pkce: m.allow_nonce_instead_of_pkce === true,
    ...toProtocolView(row.metadata as Record<string, unknown>),
    admin: row.isAdmin,
  };
}

export async function getClient(prisma: PrismaClient, clientId: string): Promise<ClientView | undefined> {
  const row = await findClient(prisma, clientId);
  return row ? toClientView(row) : undefined;
}

/** Clients in client_id order, starting after `after` (a keyset page). */
export async function listClients(
  prisma: PrismaClient,
  { after, limit }: { after?: string | undefined; limit: number },
): Promise<ClientView[]> {
  return (await listClientRows(prisma, { after, limit })).map(toClientView);
}

export type ClientPatch = Partial<
  Pick<
    ClientInput,
    | 'name'
    | 'redirectUris'
    | 'grantTypes'
    | 'scopes'
    | 'idTokenSignedResponseAlg'
    | 'allowNonceInsteadOfPkce'
    | 'backchannelLogoutUri'
    | 'requirePushedAuthorizationRequests'
    | 'dpopBoundAccessTokens'
  >
>;

/**
 * Changes a client's name, redirect URIs, grant types, scope or ID token algorithm, validated exactly as at creation (the patch is
 * merged into the current settings first). Undefined for an unknown client.
 */
export async function updateClient(
  prisma: PrismaClient,
  clientId: string,
  patch: ClientPatch,
): Promise<ClientView | undefined> {
  const row = await findClient(prisma, clientId);
  if (!row) return undefined;
  // buildMetadata pins admin clients to client_credentials + admin; refuse rather than silently ignore a change.
  if (row.isAdmin && (patch.grantTypes !== undefined || patch.scopes !== undefined)) {
    throw new InvalidRequest('the grant_types and scope of an admin client are fixed (client_credentials, admin)');
  }
  const current = toClientView(row);
  const metadata = buildMetadata({
    name: patch.name ?? current.client_name,
    redirectUris: patch.redirectUris ?? current.redirect_uris,
    public: current.token_endpoint_auth_method === 'none',
    grantTypes: patch.grantTypes ?? current.grant_types,
    scopes: patch.scopes ?? current.scope,
    admin: row.isAdmin,
    idTokenSignedResponseAlg: patch.idTokenSignedResponseAlg ?? current.id_token_signed_response_alg,
    allowNonceInsteadOfPkce: patch.allowNonceInsteadOfPkce ?? current.allow_nonce_instead_of_pkce,
    ...protocolInputOf(row.metadata as Record<string, unknown>),
    ...Object.fromEntries(
      Object.entries({
        backchannelLogoutUri: patch.backchannelLogoutUri,
        requirePushedAuthorizationRequests: patch.requirePushedAuthorizationRequests,
        dpopBoundAccessTokens: patch.dpopBoundAccessTokens,
      }).filter(([, v]) => v !== undefined),
    ),
  });
  if (patch.scopes !== undefined) await checkKnownScopes(prisma, metadata.scope);
  // Metadata keys this module does not manage are kept as they are (protocol settings are rebuilt above, so a removed
  // one goes).
  const kept = Object.fromEntries(
    Object.entries(row.metadata as Record<string, unknown>).filter(([k]) => !PROTOCOL_KEYS.includes(k)),
  );
  const merged = { ...kept, ...metadata } as Prisma.InputJsonObject & Prisma.JsonObject;
  const updated = await updateClientRow(prisma, clientId, { name: metadata.client_name, metadata: merged });
  return updated ? toClientView({ ...row, name: metadata.client_name, metadata: merged }) : undefined;
}

/** Removes a client; false when there was none. Its refresh-token families are the caller's to revoke. */
export async function deleteClient(prisma: PrismaClient, clientId: string): Promise<boolean> {
  return deleteClientRow(prisma, clientId);
}
