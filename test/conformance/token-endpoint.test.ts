// RFC 6749 §5.1/§5.2 at the token endpoint as a strict relying party checks them: exact `error` codes, 401 with
// WWW-Authenticate when Basic was attempted, Pragma: no-cache beside Cache-Control: no-store; and the decision on
// `redirect_uri` in the token request (OAuth 2.1 §4.1.3 and §10.2: optional with PKCE, enforced when sent).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { ClientView } from '../../src/clients/clients.js';
import { authorize, createTestClient, createUser, tokenRequest, type User } from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

const SECOND_URI = 'https://client.example.com/other-cb';

describe.each(MODES)('token endpoint errors and headers (%s storage)', (mode) => {
  let server: TestServer;
  let user: User;
  let codeClient: ClientView;
  let machine: ClientView;

  beforeAll(async () => {
    server = await startServer(mode);
    user = await createUser(server);
    codeClient = await createTestClient(server, { redirectUris: ['https://client.example.com/cb', SECOND_URI] });
    machine = await createTestClient(server, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'profile',
    });
  });
  afterAll(() => server?.stop());

  const post = (body: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
      body: new URLSearchParams(body),
    });
  const basic = (id: string, secret: string) =>
    `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

  it('answers a grant type the client is not registered for with unauthorized_client', async () => {
    const res = await tokenRequest(server, codeClient, { grant_type: 'client_credentials' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unauthorized_client');
    const other = await tokenRequest(server, machine, {
      grant_type: 'authorization_code',
      code: 'x',
      code_verifier: 'y'.repeat(43),
    });
    expect(other.status).toBe(400);
    expect(other.body.error).toBe('unauthorized_client');
    // A grant type the server does not have at all stays unsupported_grant_type.
    const unknown = await tokenRequest(server, codeClient, { grant_type: 'password', username: 'a', password: 'b' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe('unsupported_grant_type');
  });

  it('answers a request without any client authentication with invalid_client, 401', async () => {
    const res = await post({ grant_type: 'client_credentials' });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_client' });
    expect(res.headers.get('www-authenticate')).toBeNull(); // Basic was not attempted
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');

    for (const endpoint of ['/token/introspection', '/token/revocation']) {
      const other = await fetch(`${server.url}${endpoint}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'token=abc',
      });
      expect([endpoint, other.status]).toEqual([endpoint, 401]);
      expect(await other.json()).toMatchObject({ error: 'invalid_client' });
    }
  });

  it('adds WWW-Authenticate: Basic to the 401 when Basic was attempted and failed', async () => {
    for (const authorization of [
      basic(machine.client_id, 'wrong-secret'), // wrong secret
      basic('no-such-client', 'whatever'), // unknown client
      basic(machine.client_id, ''), // empty secret
      'Basic !!!not-base64', // malformed credentials
      `Basic ${Buffer.from('no-colon-here').toString('base64')}`,
    ]) {
      const res = await post({ grant_type: 'client_credentials' }, { authorization });
      expect([authorization, res.status]).toEqual([authorization, 401]);
      expect(await res.json()).toMatchObject({ error: 'invalid_client' });
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]+"/);
    }
    // Two mechanisms at once is a malformed request, not failed authentication.
    const both = await post(
      { grant_type: 'client_credentials', client_secret: machine.client_secret! },
      { authorization: basic(machine.client_id, machine.client_secret!) },
    );
    expect(both.status).toBe(400);
    expect(await both.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('sends Cache-Control: no-store and Pragma: no-cache with tokens', async () => {
    const res = await tokenRequest(server, machine, { grant_type: 'client_credentials', scope: 'profile' });
    expect(res.status).toBe(200);
    expect(res.body.access_token).toEqual(expect.any(String));
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
  });

  describe('redirect_uri in the code exchange (client with two redirect URIs)', () => {
    const exchange = async (extra: Record<string, string>) => {
      const { code, verifier } = await authorize(server, codeClient, user, { extra: { redirect_uri: SECOND_URI } });
      return tokenRequest(server, codeClient, {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        ...extra,
      });
    };

    it('present and matching: tokens', async () => {
      const res = await exchange({ redirect_uri: SECOND_URI });
      expect(res.status).toBe(200);
      expect(res.body.access_token).toEqual(expect.any(String));
    });

    it('present and different (even another registered one): invalid_grant', async () => {
      const res = await exchange({ redirect_uri: 'https://client.example.com/cb' });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_grant');
    });

    it('absent: tokens (PKCE binds the code to the client that started the flow)', async () => {
      const res = await exchange({});
      expect(res.status).toBe(200);
      expect(res.body.access_token).toEqual(expect.any(String));
      expect(res.headers.get('pragma')).toBe('no-cache');
    });
  });
});
