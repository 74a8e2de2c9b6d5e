// Malformed and hostile requests get RFC 6749 JSON errors or an escaped page with a 4xx: never a 5xx, never a
// stack trace.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { Browser, parseForm, pkce } from '../support/browser.js';
import { authorizationUrl, createTestClient } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';
import type { ClientView } from '../../src/clients/clients.js';

describe('bad input', () => {
  let server: TestServer;
  let client: ClientView;
  beforeAll(async () => {
    server = await startServer('external');
    client = await createTestClient(server);
  });
  afterAll(() => server?.stop());

  const basic = () => `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;

  it.each([
    ['JSON where a form is expected', 'application/json', '{"grant_type":"refresh_token","refresh_token":"x"}'],
    ['no content type', '', 'grant_type=refresh_token&refresh_token=x'],
    [
      'invalid percent-encoding',
      'application/x-www-form-urlencoded',
      'grant_type=refresh_token&refresh_token=%E0%A4%A',
    ],
    [
      'a duplicated parameter',
      'application/x-www-form-urlencoded',
      'grant_type=refresh_token&grant_type=client_credentials',
    ],
    [
      'invalid UTF-8',
      'application/x-www-form-urlencoded',
      Buffer.from([0x67, 0x72, 0x61, 0x6e, 0x74, 0x5f, 0x74, 0x79, 0x70, 0x65, 0x3d, 0xff, 0xfe]),
    ],
  ])('token endpoint: %s → 400 JSON', async (_label, type, body) => {
    const headers: Record<string, string> = { authorization: basic(), accept: 'application/json' };
    if (type) headers['content-type'] = type;
    const res = await fetch(`${server.url}/token`, { method: 'POST', headers, body });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const json = (await res.json()) as Record<string, unknown>;
    expect(typeof json.error).toBe('string');
    expect(typeof json.error_description).toBe('string');
    expect(JSON.stringify(json)).not.toMatch(/at .*\.(js|ts):\d+/);
  });

  it('refuses an oversized token request body', async () => {
    const res = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=${'a'.repeat(2 * 1024 * 1024)}`,
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: 'invalid_request',
      error_description: 'the request body is larger than 65536 bytes',
    });
  });

  describe('interaction pages', () => {
    let browser: Browser;
    let action: string;
    beforeAll(async () => {
      browser = new Browser(server.url);
      const start = await browser.follow(await browser.get(authorizationUrl(server, client, pkce().challenge)));
      action = parseForm(await start.res.text()).action!;
    });

    it.each([
      ['a JSON body', { 'content-type': 'application/json' }, '{"username":"x"}', 415],
      [
        'a body past the limit',
        { 'content-type': 'application/x-www-form-urlencoded' },
        `username=${'a'.repeat(64 * 1024)}`,
        413,
      ],
      [
        'invalid percent-encoding',
        { 'content-type': 'application/x-www-form-urlencoded' },
        'username=%ZZ&password=x',
        400,
      ],
      [
        'a duplicated field',
        { 'content-type': 'application/x-www-form-urlencoded' },
        'username=a&username=b&password=x',
        400,
      ],
    ])('login with %s is refused with an escaped page', async (_label, headers, body, status) => {
      // With the form's own CSRF token, so that what is refused is the body itself.
      const token = new URLSearchParams(browser.hiddenFields.get(new URL(action, server.url).toString())).toString();
      const res = await browser.request(action, {
        method: 'POST',
        headers,
        body: headers['content-type'] === 'application/json' ? body : `${body}&${token}`,
      });
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const page = await res.text();
      expect(page).toContain('invalid_request');
      expect(page).not.toMatch(/at .*\.(js|ts):\d+/);
    });

    it.each([
      '/interaction/..%2f..%2fetc%2fpasswd',
      '/interaction/%3Cscript%3Ealert(1)%3C%2Fscript%3E',
      '/interaction/unknown-uid/login',
    ])('unknown or hostile interaction path %s → 4xx page', async (path) => {
      const res = await browser.get(path);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(await res.text()).not.toContain('<script>alert(1)</script>');
    });

    it('answers a JSON client with JSON', async () => {
      const res = await fetch(`${server.url}/interaction/whatever`, { headers: { accept: 'application/json' } });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: expect.any(String), error_description: expect.any(String) });
    });
  });
});
