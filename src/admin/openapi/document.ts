// The OpenAPI 3.1 document of the admin API, served at GET /admin/openapi.json. Written separately from the
// router on purpose: test/admin/openapi.test.ts walks both and fails when a route is missing from either.
import { MAX_LIMIT, DEFAULT_LIMIT } from '../pagination.js';
import { components } from './components.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (description: string, schema: string) => ({
  description,
  content: { 'application/json': { schema: ref(schema) } },
});

const ERRORS: Record<number, string> = {
  400: 'invalid input; error_description names the field',
  401: 'no usable Bearer token (invalid_token)',
  403: 'the token lacks the scope admin of an admin client (insufficient_scope)',
  404: 'no such resource (not_found)',
  413: 'request body larger than 64 KiB',
  415: 'request body is not application/json',
};
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), json(ERRORS[c]!, 'Error')]));
const guarded = (...codes: number[]) => errors(400, 401, 403, ...codes);

const inPath = (name: string, description: string, format?: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', ...(format ? { format } : {}) },
});
const inQuery = (name: string, description: string, schema: Record<string, unknown> = { type: 'string' }) => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});

const page = [
  inQuery('limit', `page size, default ${DEFAULT_LIMIT}`, {
    type: 'integer',
    minimum: 1,
    maximum: MAX_LIMIT,
    default: DEFAULT_LIMIT,
  }),
  inQuery('cursor', 'next_cursor of the previous page (opaque)'),
];
const clientId = inPath('client_id', 'the client');
const userId = inPath('id', 'the user', 'uuid');
const resource = inPath('resource', 'the API identifier, URL-encoded (e.g. https%3A%2F%2Forders.example.com)');
const body = (schema: string) => ({ required: true, content: { 'application/json': { schema: ref(schema) } } });
const noContent = { description: 'done' };

const paths = {
  '/admin/clients': {
    get: {
      summary: 'List clients (client_id order)',
      parameters: page,
      responses: { 200: json('a page of clients', 'ClientList'), ...guarded() },
    },
    post: {
      summary: 'Register a client (audited as client.created); a confidential client’s secret is in this response only',
      requestBody: body('CreateClient'),
      responses: { 201: json('the client, with its secret', 'NewClient'), ...guarded(413, 415) },
    },
  },
  '/admin/clients/{client_id}': {
    parameters: [clientId],
    get: { summary: 'Read a client', responses: { 200: json('the client', 'Client'), ...guarded(404) } },
    patch: {
      summary: 'Change name, redirect_uris, grant_types or scope (validated as at registration)',
      requestBody: body('UpdateClient'),
      responses: { 200: json('the changed client', 'Client'), ...guarded(404, 413, 415) },
    },
    delete: {
      summary: 'Remove a client and revoke its refresh-token families',
      responses: { 204: noContent, ...guarded(404) },
    },
  },
  '/admin/clients/{client_id}/secret': {
    parameters: [clientId],
    post: {
      summary:
        'Rotate the secret (audited as client.secret_rotated): the new one is shown once, the old one stops working',
      responses: { 200: json('the new secret', 'ClientSecret'), ...guarded(404) },
    },
  },
  '/admin/clients/{client_id}/resources': {
    parameters: [clientId],
    get: {
      summary: 'The client’s allowances: for each API, the scopes it may obtain',
      responses: { 200: json('every allowance of the client', 'AllowanceList'), ...guarded(404) },
    },
  },
  '/admin/clients/{client_id}/resources/{resource}': {
    parameters: [clientId, resource],
    put: {
      summary:
        'Set the scopes of this API the client may obtain (the complete list; audited as client.resource_allowed, or client.resource_removed for [])',
      requestBody: body('SetAllowance'),
      responses: { 200: json('the allowance', 'Allowance'), ...guarded(404, 413, 415) },
    },
    delete: {
      summary:
        'Take the allowance away (audited as client.resource_removed): new tokens carry none of the API’s scopes',
      responses: { 204: noContent, ...guarded(404) },
    },
  },
  '/admin/keys/rotate': {
    post: {
      summary:
        'Rotate the signing keys (body optional: {"alg": "ES256"|"RS256"} for one): the next key is published at once on every instance and signs after KEY_ACTIVATION_DELAY_SECONDS',
      requestBody: { required: false, content: { 'application/json': { schema: ref('RotateKeys') } } },
      responses: { 200: json('the rotations', 'KeyRotations'), ...guarded(413, 415) },
    },
  },
  '/admin/resources': {
    get: {
      summary: 'List APIs (identifier order)',
      parameters: page,
      responses: { 200: json('a page of APIs', 'ApiList'), ...guarded() },
    },
    post: {
      summary: 'Register an API',
      requestBody: body('CreateApi'),
      responses: { 201: json('the API', 'Api'), ...guarded(404, 413, 415) },
    },
  },
  '/admin/resources/{resource}': {
    parameters: [resource],
    get: { summary: 'Read an API', responses: { 200: json('the API', 'Api'), ...guarded(404) } },
    patch: {
      summary: 'Rename an API or replace its scopes and their descriptions (a removed scope leaves every allowance)',
      requestBody: body('UpdateApi'),
      responses: { 200: json('the changed API', 'Api'), ...guarded(404, 413, 415) },
    },
    delete: {
      summary: 'Remove an API with every allowance of it; its tokens introspect inactive',
      responses: { 204: noContent, ...guarded(404) },
    },
  },
  '/admin/users': {
    get: {
      summary:
        'Find users (username order): with username, the one user of that name; with query, those whose username or email contains it (case-insensitive)',
      parameters: [
        inQuery('username', 'exact username'),
        inQuery('query', 'part of the username or email, case-insensitive'),
        ...page,
      ],
      responses: { 200: json('a page of users', 'UserList'), ...guarded() },
    },
    post: {
      summary: 'Create a user (audited as user.created); with an email, a verification link is mailed to it',
      requestBody: body('CreateUser'),
      responses: { 201: json('the user', 'User'), ...guarded(413, 415) },
    },
  },
  '/admin/users/{id}': {
    parameters: [userId],
    get: { summary: 'Read a user', responses: { 200: json('the user', 'User'), ...guarded(404) } },
    patch: {
      summary:
        'Change the email (user.updated; a new address is unverified and gets a verification link) or disable / enable the user (user.disabled, user.enabled). Disabling refuses sign-in, revokes every refresh-token family and makes every access token inactive at once',
      requestBody: body('UpdateUser'),
      responses: { 200: json('the changed user', 'User'), ...guarded(404, 413, 415) },
    },
    delete: {
      summary:
        'Delete a user (user.deleted): every token dead at once, every family revoked; the audit trail keeps the user id',
      responses: { 204: noContent, ...guarded(404) },
    },
  },
  '/admin/users/{id}/password': {
    parameters: [userId],
    post: {
      summary: 'Set a new password (user.password_changed); the user is signed out everywhere',
      requestBody: body('SetPassword'),
      responses: { 204: noContent, ...guarded(404, 413, 415) },
    },
  },
  '/admin/users/{id}/sessions': {
    parameters: [userId],
    get: {
      summary: 'A user’s live sessions (refresh-token families), newest first',
      parameters: page,
      responses: { 200: json('a page of sessions', 'SessionList'), ...guarded(404) },
    },
    delete: {
      summary:
        'Log out everywhere: every family revoked, and every token issued before now inactive (audited as user.logged_out_everywhere)',
      responses: { 204: noContent, ...guarded(404) },
    },
  },
  '/admin/users/{id}/sessions/{family_id}': {
    parameters: [userId, inPath('family_id', 'the session (refresh-token family)', 'uuid')],
    delete: {
      summary:
        'Log out one device: its family and the access tokens issued from it are revoked (audited as session.revoked)',
      responses: { 204: noContent, ...guarded(404) },
    },
  },
  '/admin/audit': {
    get: {
      summary: 'Audit events, newest first',
      parameters: [
        inQuery('user_id', 'only events of this user', { type: 'string', format: 'uuid' }),
        inQuery('client_id', 'only events of this client'),
        inQuery('type', 'only events of this type, e.g. refresh_token.reuse_detected'),
        ...page,
      ],
      responses: { 200: json('a page of events', 'AuditEventList'), ...guarded() },
    },
  },
  '/admin/registration-tokens': {
    post: {
      summary:
        'Issue an initial access token for dynamic client registration (REGISTRATION=initial-token); shown once, stored hashed',
      requestBody: body('CreateRegistrationToken'),
      responses: { 201: json('the token', 'RegistrationToken'), ...guarded(413, 415) },
    },
  },
  '/admin/openapi.json': {
    get: {
      summary: 'This document',
      security: [],
      responses: { 200: { description: 'OpenAPI 3.1 document', content: { 'application/json': {} } } },
    },
  },
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Tollgate admin API',
    version: '1.0.0',
    description:
      'Clients, users, device sessions and the audit trail of a Tollgate authorization server. JSON, snake_case; lists are {"items": [...], "next_cursor": ...}.',
  },
  security: [{ adminToken: ['admin'] }],
  paths,
  components,
};
