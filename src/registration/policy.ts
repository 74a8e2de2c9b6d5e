// The registration policy (RFC 7591 §2 leaves what a server accepts to the server): every client that registers
// itself gets the OAuth 2.1 posture and nothing an administrator has to grant.
//   - grant types: authorization code (+ refresh_token), or client_credentials alone (confidential only);
//   - redirect URIs: https; loopback http and private-use (reverse-domain) schemes for native clients (RFC 8252);
//   - scopes: only the user-facing ones the server defines, never `admin`; no API allowances (an admin grants
//     those, see src/clients/resource-servers.ts), so a registered client starts with access to no API;
//   - outbound URLs the server would call (jwks_uri, backchannel_logout_uri) must be https (see outbound.ts for
//     local development).
// It runs inside oidc-provider's client validation (extraClientMetadata.validator), on registration and on
// RFC 7592 updates, after oidc-provider applied its defaults.
import { errors } from 'oidc-provider';

import { checkRedirectUri } from '../clients/clients.js';
import { InvalidRequest } from '../errors.js';

/** Scopes a registered client may ask for: what a user consents to, nothing administrative. */
export const REGISTRATION_SCOPES = ['openid', 'offline_access', 'profile', 'email'] as const;
const ALLOWED_SCOPES = new Set<string>(REGISTRATION_SCOPES);
const CODE_GRANTS = new Set(['authorization_code', 'refresh_token']);

type Metadata = Record<string, unknown>;

const invalid = (description: string) => new errors.InvalidClientMetadata(description);
// RFC 7591 §3.2.2 invalid_redirect_uri; oidc-provider's class has a fixed description (made for /auth).
const invalidRedirectUri = (description: string) =>
  Object.assign(new errors.InvalidRedirectUri(), { error_description: description });
const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function checkGrantTypes(metadata: Metadata, requested: Metadata): 'code' | 'client_credentials' {
  const grants = list(metadata.grant_types);
  if (grants.length === 1 && grants[0] === 'client_credentials') {
    if (metadata.token_endpoint_auth_method === 'none')
      throw invalid('client_credentials clients must authenticate (token_endpoint_auth_method none is not allowed)');
    // oidc-provider's default response type is code; a client_credentials client has none unless it asked.
    if (requested.response_types === undefined) metadata.response_types = [];
    if (list(metadata.response_types).length) throw invalid('client_credentials clients have no response_types');
    return 'client_credentials';
  }
  if (!grants.includes('authorization_code') || grants.some((g) => !CODE_GRANTS.has(g))) {
    throw invalid(
      'grant_types must be authorization_code (optionally with refresh_token), or client_credentials alone',
    );
  }
  return 'code';
}

function checkRedirectUris(metadata: Metadata): void {
  for (const uri of list(metadata.redirect_uris)) {
    let kind: 'web' | 'native';
    try {
      kind = checkRedirectUri(uri);
    } catch (err) {
      throw invalidRedirectUri((err as InstanceType<typeof InvalidRequest>).error_description);
    }
    if (kind === 'native' && metadata.application_type !== 'native') {
      throw invalidRedirectUri(
        `redirect_uri ${JSON.stringify(uri)} (loopback or private-use scheme) needs application_type native (RFC 8252)`,
      );
    }
  }
}

function checkScope(metadata: Metadata, kind: 'code' | 'client_credentials'): void {
  if (metadata.scope === undefined) {
    // Unset would mean "any scope the server knows", admin included: pin it.
    metadata.scope = kind === 'code' ? REGISTRATION_SCOPES.join(' ') : 'openid';
    return;
  }
  if (typeof metadata.scope !== 'string') throw invalid('scope must be a string');
  for (const s of metadata.scope.split(' ').filter(Boolean)) {
    if (!ALLOWED_SCOPES.has(s))
      throw invalid(
        `scope ${JSON.stringify(s)} is not available to registered clients (allowed: ${REGISTRATION_SCOPES.join(' ')})`,
      );
  }
}

function checkOutboundUrls(metadata: Metadata, allowLoopback: (url: URL) => boolean): void {
  for (const field of ['jwks_uri', 'backchannel_logout_uri'] as const) {
    const value = metadata[field];
    if (value === undefined) continue;
    let url: URL;
    try {
      url = new URL(String(value));
    } catch {
      throw invalid(`${field} must be an absolute URL`);
    }
    if (url.protocol !== 'https:' && !allowLoopback(url)) throw invalid(`${field} must use https`);
  }
}

export interface RegistrationPolicyOptions {
  /** Whether an http loopback URL is acceptable for the server to call (development only; see outbound.ts). */
  allowLoopback(url: URL): boolean;
}

/**
 * Checks (and completes) the metadata of a client registering or updating itself. `requested` is the request
 * body, to tell what the client asked for from oidc-provider's defaults. Throws RFC 7591 §3.2.2 errors.
 */
export function applyRegistrationPolicy(
  metadata: Metadata,
  requested: Metadata,
  options: RegistrationPolicyOptions,
): void {
  const kind = checkGrantTypes(metadata, requested);
  checkRedirectUris(metadata);
  checkScope(metadata, kind);
  checkOutboundUrls(metadata, options.allowLoopback);
}
