// Client registration (CLI and admin API). The secret is 256 random bits, returned once and stored as an HMAC.
import { randomBytes } from 'node:crypto';

import type { PrismaClient } from '../db/generated/client.js';
import type { TokenHasher } from '../crypto/token-hash.js';
import { InvalidRequest } from '../errors.js';

export const DEFAULT_GRANT_TYPES = ['authorization_code', 'refresh_token'];
export const DEFAULT_SCOPES = 'openid offline_access profile email';
const KNOWN_GRANT_TYPES = new Set(['authorization_code', 'refresh_token', 'client_credentials']);
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 §3.3 scope-token

export interface ClientInput {
  name: string;
  redirectUris?: string[];
  public?: boolean;
  grantTypes?: string[];
  scopes?: string;
  admin?: boolean;
}

export interface ClientView {
  client_id: string;
  client_secret?: string;
  client_name: string;
  redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  scope: string;
  token_endpoint_auth_method: string;
  application_type: string;
  admin: boolean;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Exact redirect URIs only (OAuth 2.1 §2.3.1): absolute, no fragment, no wildcards. https, http on loopback
 * (RFC 8252 §7.3), or a private-use scheme with a dot (RFC 8252 §7.1) for native apps.
 */
function checkRedirectUri(raw: string): 'web' | 'native' {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidRequest(`redirect_uri ${JSON.stringify(raw)} is not an absolute URL`);
  }
  if (url.hash || raw.includes('#')) throw new InvalidRequest(`redirect_uri ${JSON.stringify(raw)} must not contain a fragment`);
  if (raw.includes('*')) throw new InvalidRequest(`redirect_uri ${JSON.stringify(raw)} must not contain wildcards`);
  if (url.protocol === 'https:') return 'web';
  if (url.protocol === 'http:') {
    if (LOOPBACK.has(url.hostname)) return 'native';
    throw new InvalidRequest(`redirect_uri ${JSON.stringify(raw)} must use https (http only on loopback)`);
  }
  if (/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/i.test(url.protocol)) return 'native';
  throw new InvalidRequest(`redirect_uri ${JSON.stringify(raw)} must use https, loopback http, or a reverse-domain scheme`);
}

/** Turns the input into oidc-provider client metadata (snake_case, without secret). */
export function buildMetadata(input: ClientInput): Omit<ClientView, 'client_id' | 'client_secret' | 'admin'> {
  const name = input.name.trim();
  if (!name || name.length > 200) throw new InvalidRequest('name must be 1-200 characters');
  const grantTypes = input.admin ? ['client_credentials'] : (input.grantTypes ?? DEFAULT_GRANT_TYPES);
  for (const g of grantTypes) if (!KNOWN_GRANT_TYPES.has(g)) throw new InvalidRequest(`grant type ${JSON.stringify(g)} is not supported`);
  if (grantTypes.length === 0) throw new InvalidRequest('at least one grant type is required');
  const scope = (input.admin ? 'admin' : (input.scopes ?? DEFAULT_SCOPES)).trim().split(/\s+/).filter(Boolean);
  for (const s of scope) if (!SCOPE_TOKEN.test(s)) throw new InvalidRequest(`scope ${JSON.stringify(s)} is malformed`);

  const usesCode = grantTypes.includes('authorization_code');
  const redirectUris = [...new Set(input.redirectUris ?? [])];
  if (usesCode && redirectUris.length === 0) throw new InvalidRequest('authorization_code clients need at least one redirect URI');
  if (!usesCode && redirectUris.length > 0) throw new InvalidRequest('redirect URIs are only for authorization_code clients');
  if (grantTypes.includes('refresh_token') && !usesCode) throw new InvalidRequest('refresh_token needs authorization_code');
  if (input.public && grantTypes.includes('client_credentials')) throw new InvalidRequest('public clients cannot use client_credentials');
  const kinds = redirectUris.map(checkRedirectUri);

  return {
    client_name: name,
    redirect_uris: redirectUris,
    grant_types: grantTypes,
    response_types: usesCode ? ['code'] : [],
    scope: scope.join(' '),
    token_endpoint_auth_method: input.public ? 'none' : 'client_secret_basic',
    application_type: kinds.includes('native') ? 'native' : 'web',
  };
}

const newSecret = () => randomBytes(32).toString('base64url');

export async function createClient(prisma: PrismaClient, hash: TokenHasher, input: ClientInput): Promise<ClientView> {
  const metadata = buildMetadata(input);
  const clientId = randomBytes(16).toString('base64url');
  const secret = input.public ? undefined : newSecret();
  await prisma.client.create({
    data: {
      clientId,
      name: metadata.client_name,
      secretHash: secret ? hash(secret) : null,
      metadata,
      isAdmin: Boolean(input.admin),
    },
  });
  return { client_id: clientId, ...(secret ? { client_secret: secret } : undefined), ...metadata, admin: Boolean(input.admin) };
}

/** Issues a new secret (shown once); the old one stops working at once. */
export async function rotateClientSecret(prisma: PrismaClient, hash: TokenHasher, clientId: string): Promise<string | undefined> {
  const row = await prisma.client.findUnique({ where: { clientId } });
  if (!row) return undefined;
  if (!row.secretHash) throw new InvalidRequest('public clients have no secret');
  const secret = newSecret();
  await prisma.client.update({ where: { clientId }, data: { secretHash: hash(secret), updatedAt: new Date() } });
  return secret;
}
