// The shapes the admin API answers with, as JSON Schema (OpenAPI 3.1), plus its request bodies generated from the
// zod schemas the routes parse with (src/admin/schemas.ts).
import { z } from 'zod';

import {
  allowanceBody,
  createClientBody,
  createRegistrationTokenBody,
  createResourceBody,
  createUserBody,
  setPasswordBody,
  updateClientBody,
  updateResourceBody,
  updateUserBody,
} from '../schemas.js';

const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const time = { type: 'string', format: 'date-time' } as const;
const strings = { type: 'array', items: str } as const;

const object = (properties: Record<string, unknown>, description?: string, optional: string[] = []) => ({
  type: 'object',
  ...(description ? { description } : {}),
  properties,
  required: Object.keys(properties).filter((name) => !optional.includes(name)),
  additionalProperties: false,
});

const client = {
  client_id: str,
  client_name: str,
  redirect_uris: strings,
  grant_types: strings,
  response_types: strings,
  scope: str,
  token_endpoint_auth_method: {
    type: 'string',
    enum: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
  },
  application_type: { type: 'string', enum: ['web', 'native'] },
  id_token_signed_response_alg: {
    type: 'string',
    enum: ['ES256', 'RS256'],
    description: 'present when the client chose one; otherwise the server default',
  },
  allow_nonce_instead_of_pkce: {
    type: 'boolean',
    description: 'OAuth 2.1 §7.5.1: nonce instead of PKCE (confidential OpenID Connect clients only)',
  },
  backchannel_logout_uri: { type: 'string', description: 'present when set: where the client receives logout tokens' },
  jwks_uri: { type: 'string', description: 'private_key_jwt clients publishing their keys' },
  jwks: { type: 'object', description: 'private_key_jwt clients registered with their public keys' },
  require_pushed_authorization_requests: {
    type: 'boolean',
    description: 'present (true) when the client must use PAR',
  },
  dpop_bound_access_tokens: {
    type: 'boolean',
    description: 'present (true) when its access tokens must be DPoP-bound',
  },
  admin: { type: 'boolean' },
};
const clientOptional = [
  'id_token_signed_response_alg',
  'backchannel_logout_uri',
  'jwks_uri',
  'jwks',
  'require_pushed_authorization_requests',
  'dpop_bound_access_tokens',
];

const listOf = (item: string) =>
  object({
    items: { type: 'array', items: { $ref: `#/components/schemas/${item}` } },
    next_cursor: { ...nullableStr, description: 'null on the last page' },
  });

// Request bodies are described as they arrive (before zod's transforms run).
const requestSchema = (schema: z.ZodType) => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return rest;
};

export const components = {
  securitySchemes: {
    adminToken: {
      type: 'oauth2',
      description:
        'An access token from the client_credentials grant, with the scope admin, of an admin client (`clients create --admin`).',
      flows: {
        clientCredentials: {
          tokenUrl: '/token',
          scopes: { admin: 'administer clients, users, sessions and the audit trail' },
        },
      },
    },
  },
  schemas: {
    Error: object({ error: str, error_description: str }),
    Client: object(client, undefined, clientOptional),
    NewClient: object(
      { ...client, client_secret: { type: 'string', description: 'confidential clients only; shown once' } },
      undefined,
      [...clientOptional, 'client_secret'],
    ),
    RotateKeys: object({ alg: { type: 'string', enum: ['ES256', 'RS256'] } }, 'without alg: every algorithm', ['alg']),
    KeyRotations: object({
      keys: {
        type: 'array',
        items: object({ alg: str, active_kid: str, retired_kids: strings, activates_at: time }),
      },
    }),
    ClientSecret: object({ client_id: str, client_secret: { type: 'string', description: 'shown once' } }),
    User: object({
      id: { type: 'string', format: 'uuid' },
      username: str,
      email: nullableStr,
      email_verified: { type: 'boolean', description: 'the current email was proven by a verification link' },
      created_at: time,
      disabled_at: { type: ['string', 'null'], format: 'date-time' },
      not_before: {
        type: ['string', 'null'],
        format: 'date-time',
        description: 'the last logout everywhere: tokens issued earlier are inactive',
      },
    }),
    Session: object(
      {
        id: { type: 'string', format: 'uuid', description: 'the refresh-token family id' },
        client_id: str,
        created_at: time,
        last_used_at: time,
        expires_at: {
          ...time,
          description: 'when the session ends unless used: its idle expiry, never past its absolute end',
        },
        ip: nullableStr,
        user_agent: nullableStr,
        refresh_count: { type: 'integer', minimum: 0 },
        latest_signals: {
          type: 'array',
          items: {
            type: 'string',
            enum: ['user_agent_changed', 'address_changed', 'impossible_travel', 'rapid_refresh'],
          },
          description:
            'anomaly signals of the latest rotation that raised any (see refresh_token.anomaly audit events); empty when none',
        },
        latest_signals_at: { type: ['string', 'null'], format: 'date-time' },
      },
      'one sign-in on one device: a live refresh-token family',
    ),
    AuditEvent: object({
      id: { type: 'string', description: 'increasing; a string because it is 64-bit' },
      type: {
        type: 'string',
        examples: ['refresh_token.reuse_detected', 'session.revoked', 'user.logged_out_everywhere'],
      },
      at: time,
      user_id: { type: ['string', 'null'], format: 'uuid' },
      client_id: nullableStr,
      family_id: { type: ['string', 'null'], format: 'uuid' },
      ip: nullableStr,
      user_agent: nullableStr,
      outcome: { type: 'string', enum: ['success', 'failure', 'revoked', 'refused'] },
      detail: { type: 'object' },
    }),
    ClientList: listOf('Client'),
    UserList: listOf('User'),
    SessionList: listOf('Session'),
    AuditEventList: listOf('AuditEvent'),
    Allowance: object(
      { client_id: str, resource: { type: 'string', description: 'the API identifier' }, scopes: strings },
      'the scopes of one API a client may obtain',
    ),
    AllowanceList: listOf('Allowance'),
    Api: object(
      {
        identifier: { type: 'string', description: 'absolute URI (RFC 8707 resource indicator)' },
        name: str,
        client_id: {
          ...nullableStr,
          description: 'the client standing for the API (it may introspect the API’s tokens)',
        },
        scopes: { type: 'array', items: object({ name: str, description: nullableStr }) },
      },
      'an API (resource server)',
    ),
    ApiList: listOf('Api'),
    SetAllowance: requestSchema(allowanceBody),
    CreateApi: requestSchema(createResourceBody),
    UpdateApi: requestSchema(updateResourceBody),
    CreateClient: requestSchema(createClientBody),
    UpdateClient: requestSchema(updateClientBody),
    CreateRegistrationToken: requestSchema(createRegistrationTokenBody),
    RegistrationToken: object({
      token: { type: 'string', description: 'the initial access token (RFC 7591 §3); shown once' },
      expires_at: time,
      max_uses: { type: 'integer', minimum: 1 },
    }),
    CreateUser: requestSchema(createUserBody),
    UpdateUser: requestSchema(updateUserBody),
    SetPassword: requestSchema(setPasswordBody),
  },
};
