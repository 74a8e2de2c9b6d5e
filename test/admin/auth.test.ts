// Who may call the admin API (RFC 6750): a client_credentials token with the scope admin, of an admin client.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { createTestClient, createUser, obtainTokens } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';
import { adminCall, adminToken, clientCredentialsToken } from './helpers.js';

describe('admin API authorization', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer('external');
  });
  afterAll(() => server?.stop());

  it('answers 401 invalid_token with a bare Bearer challenge when there is no token', async () => {
    const res = await adminCall(server, 'GET', '/admin/clients');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(res.body).toEqual({
      error: 'invalid_token',
      error_description: 'a Bearer access token with the scope admin is required',
    });
  });

  it.each([
    [
      'a garbage token',
      { authorization: `Bearer ${'x'.repeat(43)}` },
      'the access token is invalid, expired or revoked',
    ],
    [
      'another scheme',
      { authorization: 'Basic YWRtaW46YWRtaW4=' },
      'the Authorization header must carry a Bearer access token',
    ],
    [
      'a malformed header',
      { authorization: 'Bearer two words' },
      'the Authorization header must carry a Bearer access token',
    ],
  ])('answers 401 invalid_token for %s', async (_label, headers, description) => {
    const res = await adminCall(server, 'GET', '/admin/clients', { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer error="invalid_token", error_description="${description}"`,
    );
    expect(res.body).toEqual({ error: 'invalid_token', error_description: description });
  });

  it('answers 401 to a user’s access token (not a client_credentials token)', async () => {
    const tokens = await obtainTokens(server, await createTestClient(server), await createUser(server));
    const res = await adminCall(server, 'GET', '/admin/clients', { token: tokens.access_token });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
  });

  it('answers 403 insufficient_scope to a client_credentials token without the scope admin', async () => {
    const service = await createTestClient(server, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'profile',
    });
    const token = await clientCredentialsToken(server, service, 'profile');
    const res = await adminCall(server, 'GET', '/admin/clients', { token });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="admin"');
    expect(res.body).toEqual({
      error: 'insufficient_scope',
      error_description: 'the access token lacks the scope admin of an admin client',
    });
  });

  it('answers 403 to a token with the scope admin from a client that is not an admin client', async () => {
    // Any client_credentials client may be registered with a scope named "admin"; only --admin clients administer.
    const impostor = await createTestClient(server, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'admin',
    });
    const res = await adminCall(server, 'GET', '/admin/clients', {
      token: await clientCredentialsToken(server, impostor),
    });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('insufficient_scope');
  });

  it('accepts an admin token, and refuses it (401) once its client is deleted', async () => {
    const { client, token } = await adminToken(server);
    expect((await adminCall(server, 'GET', '/admin/clients', { token })).status).toBe(200);
    expect((await adminCall(server, 'DELETE', `/admin/clients/${client.client_id}`, { token })).status).toBe(204);
    const res = await adminCall(server, 'GET', '/admin/clients', { token });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error: 'invalid_token',
      error_description: 'the client this access token was issued to no longer exists',
    });
  });

  it('serves the OpenAPI document without a token', async () => {
    const res = await adminCall(server, 'GET', '/admin/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
  });
});
