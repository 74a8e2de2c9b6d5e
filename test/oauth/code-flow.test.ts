// The authorization code + PKCE flow through the real login and consent pages, in both storage modes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { Browser, parseForm, pkce } from '../support/browser.js';
import {
  authorizationUrl,
  authorize,
  createTestClient,
  createUser,
  exchangeCode,
  obtainTokens,
  type User,
} from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

describe.each(MODES)('code + PKCE flow (%s storage)', (mode) => {
  let server: TestServer;
  let user: User;

  beforeAll(async () => {
    server = await startServer(mode);
    user = await createUser(server);
  });
  afterAll(() => server?.stop());

  it('signs in through the login and consent pages and exchanges the code for tokens', async () => {
    const client = await createTestClient(server);
    const browser = new Browser(server.url);
    const { challenge, verifier } = pkce();

    const start = await browser.follow(await browser.get(authorizationUrl(server, client, challenge)));
    expect(start.url).toMatch(/\/interaction\/[\w-]+$/);
    const login = await start.res.text();
    expect(parseForm(login)).toEqual({
      action: expect.stringMatching(/^\/interaction\/[\w-]+\/login$/),
      method: 'post',
      inputs: ['username', 'password'],
    });
    expect(login).toContain('type="password"');
    expect(start.res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");

    const consent = await browser.follow(
      await browser.postForm(parseForm(login).action!, { username: user.username, password: user.password }),
    );
    const consentPage = await consent.res.text();
    expect(consentPage).toContain('<button type="submit" name="decision" value="allow">');
    expect(consentPage).toContain('<button type="submit" name="decision" value="deny">');

    const done = await browser.follow(await browser.postForm(parseForm(consentPage).action!, { decision: 'allow' }));
    const redirect = new URL(done.url);
    expect(`${redirect.origin}${redirect.pathname}`).toBe(client.redirect_uris[0]);
    expect(redirect.searchParams.get('iss')).toBe(server.config.issuer);
    const code = redirect.searchParams.get('code')!;

    const res = await exchangeCode(server, client, code, verifier);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      id_token: expect.any(String),
      expires_in: server.config.accessTokenTtl,
      scope: 'openid offline_access',
      token_type: 'Bearer',
    });
  });

  it('shows the login form again with a generic message on a wrong password', async () => {
    const client = await createTestClient(server);
    const browser = new Browser(server.url);
    const start = await browser.follow(await browser.get(authorizationUrl(server, client, pkce().challenge)));
    const { action } = parseForm(await start.res.text());
    for (const username of [user.username, 'nobody-at-all']) {
      const again = await browser.postForm(action!, { username, password: 'wrong-password' });
      expect(again.status).toBe(200);
      const page = await again.text();
      expect(page).toContain('Invalid username or password.');
      expect(parseForm(page).inputs).toEqual(['username', 'password']);
    }
  });

  it('escapes what the user typed when showing the form again', async () => {
    const client = await createTestClient(server, { name: '<b>Evil & Co</b>' });
    const browser = new Browser(server.url);
    const start = await browser.follow(await browser.get(authorizationUrl(server, client, pkce().challenge)));
    const page0 = await start.res.text();
    expect(page0).toContain('&lt;b&gt;Evil &amp; Co&lt;/b&gt;');
    const again = await browser.postForm(parseForm(page0).action!, {
      username: '"><script>alert(1)</script>',
      password: 'x',
    });
    const page = await again.text();
    expect(page).not.toContain('<script>');
    expect(page).toContain('&quot;&gt;&lt;script&gt;');
  });

  it('sends the user back with access_denied when consent is denied', async () => {
    const client = await createTestClient(server);
    await expect(authorize(server, client, user, { decision: 'deny' })).rejects.toMatchObject({
      redirect: expect.objectContaining({ search: expect.stringContaining('error=access_denied') }),
    });
  });

  it('refuses a login POST for an interaction the browser does not hold', async () => {
    const client = await createTestClient(server);
    const victim = new Browser(server.url);
    const start = await victim.follow(await victim.get(authorizationUrl(server, client, pkce().challenge)));
    const { action } = parseForm(await start.res.text());
    const attacker = new Browser(server.url); // no interaction cookie: a cross-site POST looks like this
    const res = await attacker.postForm(action!, { username: user.username, password: user.password });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('invalid_request');
  });

  it('issues tokens bound to the signed-in account', async () => {
    const client = await createTestClient(server);
    const tokens = await obtainTokens(server, client, user, { scope: 'openid profile email offline_access' });
    const res = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      sub: user.id,
      preferred_username: user.username,
      email: `${user.username}@example.com`,
      email_verified: false,
    });
  });
});
