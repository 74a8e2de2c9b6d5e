// Transport rules: response headers on pages and tokens, cookie attributes, and CORS only for origins a public
// client registered.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { Browser, pkce } from '../support/browser.js';
import { authorizationUrl, createTestClient, createUser, exchangeCode, authorize } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';

describe('headers and cookies', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external');
  });
  afterAll(() => server?.stop());

  it('sends a strict CSP, no framing and nosniff on pages', async () => {
    const client = await createTestClient(server);
    const browser = new Browser(server.url);
    const { res } = await browser.follow(await browser.get(authorizationUrl(server, client, pkce().challenge)));
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toMatch(/script-src/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('marks session and interaction cookies HttpOnly and SameSite', async () => {
    const client = await createTestClient(server);
    const res = await new Browser(server.url).get(authorizationUrl(server, client, pkce().challenge));
    const cookies = res.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) {
      expect(cookie).toMatch(/; httponly/i);
      expect(cookie).toMatch(/; samesite=lax/i);
    }
  });

  it('sends Cache-Control: no-store and nosniff on token responses', async () => {
    const client = await createTestClient(server);
    const { code, verifier } = await authorize(server, client, await createUser(server));
    const res = await exchangeCode(server, client, code, verifier);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('allows CORS at the token endpoint only for an origin the public client registered', async () => {
    const spa = await createTestClient(server, { public: true, redirectUris: ['https://spa.example.com/callback'] });
    const post = (origin: string) =>
      fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: 'x'.repeat(43),
          client_id: spa.client_id,
        }),
      });
    expect((await post('https://spa.example.com')).headers.get('access-control-allow-origin')).toBe(
      'https://spa.example.com',
    );
    expect((await post('https://evil.example.com')).headers.get('access-control-allow-origin')).toBeNull();
    const confidential = await createTestClient(server, { redirectUris: ['https://web.example.com/cb'] });
    const res = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: {
        origin: 'https://web.example.com',
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${confidential.client_id}:${confidential.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x'.repeat(43) }),
    });
    expect(res.headers.get('access-control-allow-origin')).toBeNull(); // confidential clients do not run in browsers
  });
});

describe('https issuer', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('embedded', { ISSUER: 'https://auth.example.com', TRUST_PROXY: 'true' });
  });
  afterAll(() => server?.stop());

  it('sends HSTS and Secure cookies behind a TLS-terminating proxy', async () => {
    const client = await createTestClient(server);
    const url = authorizationUrl(server, client, pkce().challenge).replace(server.url, '');
    const res = await fetch(`${server.url}${url}`, {
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'auth.example.com' },
      redirect: 'manual',
    });
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    const cookies = res.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    for (const cookie of cookies) expect(cookie).toMatch(/; secure/i);
  });
});
