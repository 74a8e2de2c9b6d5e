// OpenID Connect Core §3.1.2.1 and RP-Initiated Logout §2: the authorization and end-session endpoints accept POST
// as well as GET. A form POST is answered 303 See Other to the same request as a GET (src/http/post-to-get.ts), so a
// browser signed in with a SameSite=Lax session cookie is recognised exactly as with GET.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { ClientView } from '../../src/clients/clients.js';
import { Browser, pkce } from '../support/browser.js';
import { authorizationUrl, createTestClient, createUser, exchangeCode, type User } from '../support/oauth.js';
import { answerPages } from '../support/pages.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

describe.each(MODES)('POST to the authorization and end-session endpoints (%s storage)', (mode) => {
  let server: TestServer;
  let user: User;
  let client: ClientView;
  let browser: Browser;

  beforeAll(async () => {
    server = await startServer(mode);
    user = await createUser(server);
    client = await createTestClient(server);
    browser = new Browser(server.url);
  });
  afterAll(() => server?.stop());

  /** The parameters of an authorization request, as a form body. */
  const authParams = (challenge: string, opts: { prompt?: string; scope?: string } = {}) =>
    Object.fromEntries(new URL(authorizationUrl(server, client, challenge, opts)).searchParams);

  it('answers a POSTed authorization request like the same GET, through sign-in to tokens', async () => {
    const { challenge, verifier } = pkce();
    const params = authParams(challenge);
    const posted = await browser.postForm('/auth', params);
    expect(posted.status).toBe(303);
    expect(posted.headers.get('cache-control')).toBe('no-store');
    const location = new URL(posted.headers.get('location')!, server.url);
    expect(location.pathname).toBe('/auth');
    expect(Object.fromEntries(location.searchParams)).toEqual(params);

    const start = await browser.follow(posted);
    expect(start.url).toMatch(/\/interaction\/[\w-]+$/);
    const { url } = await answerPages(browser, start, user);
    const redirect = new URL(url);
    expect(`${redirect.origin}${redirect.pathname}`).toBe(client.redirect_uris[0]);
    expect(redirect.searchParams.get('state')).toBe(params.state);
    const tokens = await exchangeCode(server, client, redirect.searchParams.get('code')!, verifier);
    expect(tokens.status).toBe(200);
    expect(tokens.body.id_token).toEqual(expect.any(String));
  });

  it('recognises the signed-in browser on a POSTed prompt=none request (the session cookie reaches the GET)', async () => {
    const posted = await browser.postForm('/auth', authParams(pkce().challenge, { prompt: 'none', scope: 'openid' }));
    expect(posted.status).toBe(303);
    const { url } = await browser.follow(posted);
    const redirect = new URL(url);
    expect(redirect.searchParams.get('error')).toBeNull();
    expect(redirect.searchParams.get('code')).toEqual(expect.any(String));
  });

  it('refuses a POST that is not a form with 415', async () => {
    const res = await browser.request('/auth', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"client_id":"x"}',
    });
    expect(res.status).toBe(415);
    expect(await res.text()).toContain('invalid_request');
  });

  it('refuses with 413, not a redirect, a POST too large to travel as a URL', async () => {
    const body = new URLSearchParams({ client_id: 'x', state: 'y'.repeat(9000) }).toString();
    const res = await browser.request('/auth', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('pushed authorization request');
  });

  it('keeps the browser signed in when it answers "No, stay signed in", and says so', async () => {
    const page = await browser.follow(await browser.postForm('/session/end', { client_id: client.client_id }));
    const html = await page.res.text();
    const action = new URL(/action="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&'), page.url).toString();
    const done = await browser.follow(await browser.postForm(action, {}));
    expect(done.res.status).toBe(200);
    const answer = await done.res.text();
    expect(answer).toContain('You are still signed in.');
    expect(answer).not.toContain('You are signed out');
    // The session here goes on (prompt=none does not ask for a sign-in); only this application's grant was let go,
    // as oidc-provider does for a "no", so it has to ask for consent again.
    const again = await browser.follow(
      await browser.postForm('/auth', authParams(pkce().challenge, { prompt: 'none', scope: 'openid' })),
    );
    expect(new URL(again.url).searchParams.get('error')).toBe('consent_required');
  });

  it('signs the browser out through a POST to the end-session endpoint', async () => {
    const posted = await browser.postForm('/session/end', { client_id: client.client_id });
    expect(posted.status).toBe(303);
    expect(new URL(posted.headers.get('location')!, server.url).pathname).toBe('/session/end');
    const page = await browser.follow(posted);
    expect(page.res.status).toBe(200);
    const html = await page.res.text();
    expect(html).toContain('id="op.logoutForm"');
    const action = new URL(/action="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&'), page.url).toString();
    const done = await browser.follow(await browser.postForm(action, { logout: 'yes' }));
    expect(done.res.status).toBe(200);
    expect(await done.res.text()).toContain('You are signed out');

    // The session is gone: prompt=none now answers login_required.
    const again = await browser.follow(
      await browser.postForm('/auth', authParams(pkce().challenge, { prompt: 'none', scope: 'openid' })),
    );
    expect(new URL(again.url).searchParams.get('error')).toBe('login_required');
  });
});
