// What OAuth 2.1 forbids, refused with RFC 6749 errors: no PKCE, plain PKCE, implicit and hybrid response types,
// the password grant, inexact redirect URIs, replayed codes (which also revoke what the code issued), bad client
// authentication, and malformed token requests. Never a 5xx.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { Browser, pkce } from '../support/browser.js';
import {
  authorizationUrl,
  authorize,
  createTestClient,
  createUser,
  exchangeCode,
  introspect,
  postAsClient,
  refresh,
  tokenRequest,
  type User,
} from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';
import type { ClientView } from '../../src/clients/clients.js';

describe.each(MODES)('refusals (%s storage)', (mode) => {
  let server: TestServer;
  let user: User;
  let client: ClientView;

  beforeAll(async () => {
    server = await startServer(mode);
    user = await createUser(server);
    client = await createTestClient(server);
  });
  afterAll(() => server?.stop());

  /** Starts an authorization request and returns where the server sends the browser (or the page it shows). */
  async function authorizeError(extra: Record<string, string>) {
    const browser = new Browser(server.url);
    const res = await browser.get(authorizationUrl(server, client, pkce().challenge, { extra }));
    const location = res.headers.get('location');
    return {
      status: res.status,
      location: location ? new URL(location, server.url) : undefined,
      page: location ? '' : await res.text(),
    };
  }

  it('requires PKCE from a confidential client', async () => {
    const url = new URL(authorizationUrl(server, client, 'x'));
    url.searchParams.delete('code_challenge');
    url.searchParams.delete('code_challenge_method');
    const res = await new Browser(server.url).get(url.toString());
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(client.redirect_uris[0]);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toBe(
      'Authorization Server policy requires PKCE to be used for this request',
    );
  });

  it('refuses the plain PKCE method', async () => {
    const { location } = await authorizeError({ code_challenge_method: 'plain' });
    expect(location?.searchParams.get('error')).toBe('invalid_request');
    expect(location?.searchParams.get('error_description')).toBe('not supported value of code_challenge_method');
  });

  it.each(['token', 'id_token', 'code id_token', 'code token'])(
    'refuses response_type=%s (no implicit or hybrid)',
    async (responseType) => {
      const { location } = await authorizeError({ response_type: responseType });
      expect(location?.searchParams.get('error') ?? location?.hash).toMatch(/unsupported_response_type/);
    },
  );

  it('refuses a redirect URI that is not exactly a registered one, without redirecting to it', async () => {
    for (const redirect of [
      `${client.redirect_uris[0]}/extra`,
      `${client.redirect_uris[0]}?x=1`,
      client.redirect_uris[0]!.toUpperCase(),
    ]) {
      const { status, location, page } = await authorizeError({ redirect_uri: redirect });
      expect(location).toBeUndefined();
      expect(status).toBe(400);
      expect(page).toContain('invalid_redirect_uri');
    }
  });

  it('refuses the password grant', async () => {
    const res = await tokenRequest(server, client, {
      grant_type: 'password',
      username: user.username,
      password: user.password,
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'unsupported_grant_type',
      error_description: 'unsupported grant_type requested',
    });
  });

  it('refuses a code exchange with a wrong PKCE verifier', async () => {
    const { code } = await authorize(server, client, user);
    const res = await exchangeCode(server, client, code, pkce().verifier);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
  });

  it('answers a replayed code with invalid_grant and revokes the tokens it issued', async () => {
    const { code, verifier } = await authorize(server, client, user);
    const first = await exchangeCode(server, client, code, verifier);
    expect(first.status).toBe(200);
    const replay = await exchangeCode(server, client, code, verifier);
    expect(replay.status).toBe(400);
    expect(replay.body).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });
    expect((await introspect(server, client, first.body.access_token as string)).body).toEqual({ active: false });
    expect((await refresh(server, client, first.body.refresh_token as string)).body.error).toBe('invalid_grant');
  });

  it('lets exactly one of several concurrent exchanges of one code succeed', async () => {
    const { code, verifier } = await authorize(server, client, user);
    const results = await Promise.all(Array.from({ length: 8 }, () => exchangeCode(server, client, code, verifier)));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(1);
    expect(statuses.every((s) => s === 200 || s === 400)).toBe(true);
  });

  it('answers 401 invalid_client for a wrong secret or an unknown client', async () => {
    const wrong = await tokenRequest(
      server,
      { client_id: client.client_id, client_secret: 'not-the-secret' },
      { grant_type: 'refresh_token', refresh_token: 'x' },
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' });
    const unknown = await tokenRequest(
      server,
      { client_id: 'nobody', client_secret: 'x' },
      { grant_type: 'client_credentials' },
    );
    expect(unknown.status).toBe(401);
    expect(unknown.body.error).toBe('invalid_client');
  });

  it('refuses client_credentials to a client not registered for it', async () => {
    const res = await tokenRequest(server, client, { grant_type: 'client_credentials' });
    expect(res.status).toBe(400);
    // RFC 6749 §5.2: "The authenticated client is not authorized to use this authorization grant type."
    expect(res.body).toEqual({
      error: 'unauthorized_client',
      error_description: 'requested grant type is not allowed for this client',
    });
  });

  it.each([
    ['an unknown refresh token', { grant_type: 'refresh_token', refresh_token: 'does-not-exist' }, 'invalid_grant'],
    ['a missing refresh token', { grant_type: 'refresh_token' }, 'invalid_request'],
    ['a missing grant_type', {}, 'invalid_request'],
    ['an unknown grant_type', { grant_type: 'urn:example:nope' }, 'unsupported_grant_type'],
  ])('answers %s with 400 %s', async (_label, params, error) => {
    const res = await tokenRequest(server, client, params as Record<string, string>);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(error);
    expect(typeof res.body.error_description).toBe('string');
  });

  it('does not revoke a token for a client that does not own it (and does not say whether it exists)', async () => {
    const other = await createTestClient(server);
    const { code, verifier } = await authorize(server, client, user);
    const tokens = (await exchangeCode(server, client, code, verifier)).body;
    const res = await postAsClient(server, '/token/revocation', other, { token: tokens.access_token as string });
    expect(res.status).toBe(200);
    expect((await introspect(server, client, tokens.access_token as string)).body.active).toBe(true);
  });
});
