// What the admin API accepts, as zod schemas: the routes parse with them and the OpenAPI document is generated from
// them, so the two cannot disagree. Bodies and query strings are strict: an unknown field is refused, not ignored.
// Deeper rules (redirect URI shapes, grant type combinations) are src/clients/clients.ts's, shared with the CLI.
import { z } from 'zod';

import { SUPPORTED_GRANT_TYPES } from '../clients/clients.js';
import { SIGNING_ALGS } from '../crypto/signing-algs.js';
import { UUID } from '../sessions/users.js';
import { pageQuery } from './pagination.js';

const name = z.string().trim().min(1).max(200);
const redirectUris = z.array(z.string().min(1).max(2000)).max(32);
const grantTypes = z.array(z.enum(SUPPORTED_GRANT_TYPES)).min(1).max(SUPPORTED_GRANT_TYPES.length);
const scope = z.string().min(1).max(1000).describe('space-separated scope tokens');
const nonceInsteadOfPkce = z
  .boolean()
  .describe('OAuth 2.1 §7.5.1: a confidential OpenID Connect client may send nonce instead of PKCE (default false)');
const outboundUrl = z.string().min(1).max(2000);
const jwks = z
  .object({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(10) })
  .describe('a JWK Set of public keys (private_key_jwt)');
const requirePar = z.boolean().describe('the client must use pushed authorization requests (RFC 9126)');
const dpopBound = z
  .boolean()
  .describe('access tokens must be DPoP-bound (RFC 9449): requests without a DPoP proof are refused');
const backchannelLogoutUri = outboundUrl.describe(
  'where the client receives logout tokens (OpenID Connect Back-Channel Logout 1.0); https, or http on loopback for development',
);
const idTokenAlg = z.enum(SIGNING_ALGS).describe("ID token signing algorithm (default: the server's SIGNING_KEY_ALG)");

/** POST /admin/clients: the options of `clients create` (CLI), in snake_case. */
export const createClientBody = z
  .strictObject({
    name,
    redirect_uris: redirectUris.optional(),
    public: z.boolean().optional(),
    grant_types: grantTypes.optional(),
    scope: scope.optional(),
    admin: z.boolean().optional().describe('a client_credentials client allowed the scope admin'),
    id_token_signed_response_alg: idTokenAlg.optional(),
    allow_nonce_instead_of_pkce: nonceInsteadOfPkce.optional(),
    token_endpoint_auth_method: z
      .enum(['client_secret_basic', 'private_key_jwt'])
      .optional()
      .describe('confidential clients: a secret (default), or signed assertions with their keys (RFC 7523)'),
    jwks_uri: outboundUrl.optional().describe('private_key_jwt: where the client publishes its public keys'),
    jwks: jwks.optional(),
    backchannel_logout_uri: backchannelLogoutUri.optional(),
    require_pushed_authorization_requests: requirePar.optional(),
    dpop_bound_access_tokens: dpopBound.optional(),
  })
  // An admin client's grant type and scope are fixed; accepting and then ignoring other values would mislead.
  .refine((b) => !(b.admin && (b.grant_types !== undefined || b.scope !== undefined)), {
    message: 'an admin client is a client_credentials client with the scope admin; omit grant_types and scope',
    path: ['admin'],
  });

/** PATCH /admin/clients/{client_id}: any of these, validated as at creation once merged into the client. */
export const updateClientBody = z
  .strictObject({
    name: name.optional(),
    redirect_uris: redirectUris.optional(),
    grant_types: grantTypes.optional(),
    scope: scope.optional(),
    id_token_signed_response_alg: idTokenAlg.optional(),
    allow_nonce_instead_of_pkce: nonceInsteadOfPkce.optional(),
    backchannel_logout_uri: backchannelLogoutUri.nullable().optional().describe('null removes it'),
    require_pushed_authorization_requests: requirePar.optional(),
    dpop_bound_access_tokens: dpopBound.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, {
    message:
      'nothing to change: give name, redirect_uris, grant_types, scope, id_token_signed_response_alg or allow_nonce_instead_of_pkce',
  });

/** POST /admin/registration-tokens: `registration token create` (CLI). */
export const createRegistrationTokenBody = z.strictObject({
  expires_in: z
    .number()
    .int()
    .min(1)
    .max(365 * 86_400)
    .optional()
    .describe('seconds until the token expires; default 86400'),
  max_uses: z.number().int().min(1).max(1_000_000).optional().describe('how many clients it may register; default 1'),
});

export const listQuery = z.strictObject({ ...pageQuery });

export const usersQuery = z.strictObject({
  username: z.string().min(1).max(64).optional(),
  query: z.string().min(1).max(200).optional().describe('part of the username or email, case-insensitive'),
  ...pageQuery,
});

const password = z.string().min(8).max(1024);
const email = z.string().min(3).max(320);

/** POST /admin/users: the options of `users create` (CLI). */
export const createUserBody = z.strictObject({
  username: z.string().min(1).max(64),
  password,
  email: email.optional(),
});

/** PATCH /admin/users/{id}: a new email (null removes it) and/or disabled. */
export const updateUserBody = z
  .strictObject({ email: email.nullable().optional(), disabled: z.boolean().optional() })
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to change: give email or disabled' });

/** POST /admin/users/{id}/password */
export const setPasswordBody = z.strictObject({ password });

export const auditQuery = z.strictObject({
  user_id: z.string().regex(UUID, 'must be a uuid').optional(),
  client_id: z.string().min(1).max(200).optional(),
  type: z
    .string()
    .regex(/^[a-z_]+(\.[a-z_]+)+$/, 'must be an event type such as session.revoked')
    .max(64)
    .optional(),
  ...pageQuery,
});

const scopeName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope token (RFC 6749 §3.3)');

/** PUT /admin/clients/{client_id}/resources/{resource}: the complete list of the API's scopes the client may obtain. */
export const allowanceBody = z.strictObject({
  scopes: z
    .array(scopeName)
    .max(100)
    .describe('the scopes of this API the client may obtain; [] takes the allowance away'),
});

const apiScopes = z
  .array(z.union([scopeName, z.strictObject({ name: scopeName, description: z.string().max(500).optional() })]))
  .max(100)
  .describe(
    'the complete list of the API’s scopes: names, or {name, description}; the description is shown on the consent page',
  );

/** POST /admin/resources: an API (a client standing for it may be named; it may then introspect its tokens). */
export const createResourceBody = z.strictObject({
  identifier: z.string().min(1).max(2048).describe('absolute URI without query or fragment (RFC 8707 §2)'),
  name: z.string().trim().min(1).max(200),
  scopes: apiScopes,
  client_id: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('a client that stands for the API and may introspect its tokens'),
});

/** PATCH /admin/resources/{resource}: rename the API or replace its scopes (removed ones leave every allowance). */
export const updateResourceBody = z
  .strictObject({ name: z.string().trim().min(1).max(200).optional(), scopes: apiScopes.optional() })
  .refine((b) => Object.keys(b).length > 0, { message: 'nothing to change: give name or scopes' });
