// response_mode=form_post in a real browser (chromium through playwright-core): the response page's auto-submit
// runs under its Content-Security-Policy (the script is allowed by hash, nothing else is), the page has a visible
// button that does the same without JavaScript, and the client receives the code by POST. The same browser shows
// that a cross-site form post of consent fails. Both storage modes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { ClientView } from '../../src/clients/clients.js';
import { pkce } from '../support/browser.js';
import { launchChromium, type Chromium } from '../support/chromium.js';
import { authorizationUrl, createTestClient, createUser, tokenRequest, type User } from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

/** The client's redirect URI: records each form post it receives and lets a test wait for the next one. */
class Receiver {
  readonly posts: Record<string, string>[] = [];
  #waiting: ((fields: Record<string, string>) => void)[] = [];
  readonly server: Server;
  pages = new Map<string, string>();

  constructor() {
    this.server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      if (req.method === 'GET' && this.pages.has(url.pathname)) {
        res.writeHead(200, { 'content-type': 'text/html' }).end(this.pages.get(url.pathname));
        return;
      }
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const fields = Object.fromEntries(new URLSearchParams(body));
        this.posts.push(fields);
        res
          .writeHead(200, { 'content-type': 'text/html' })
          .end('<!DOCTYPE html><title>received</title><p id="received">received</p>');
        this.#waiting.shift()?.(fields);
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  next(): Promise<Record<string, string>> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  close() {
    return new Promise((resolve) => this.server.close(resolve));
  }
}

describe.each(MODES)('form_post and cross-site consent in chromium (%s storage)', (mode) => {
  let server: TestServer;
  let user: User;
  let client: ClientView;
  let receiver: Receiver;
  let rp: string;
  let browser: Chromium;

  beforeAll(async () => {
    receiver = new Receiver();
    rp = await receiver.listen();
    [server, browser] = await Promise.all([startServer(mode), launchChromium()]);
    user = await createUser(server);
    client = await createTestClient(server, { redirectUris: [`${rp}/cb`] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await receiver?.close();
  });

  const authUrl = (challenge: string, opts: { prompt?: string; scope?: string } = {}) =>
    authorizationUrl(server, client, challenge, {
      ...opts,
      extra: { response_mode: 'form_post', nonce: `n-${Date.now()}` },
    });

  it('delivers the code by an auto-submitted form whose script the CSP allows, then the code buys tokens', async () => {
    const page = await browser.context.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    // The response page is served at the resume URL (/auth/<uid>); keep the CSP of each such HTML answer.
    const resumeCsps: string[] = [];
    page.on('response', (res) => {
      if (
        res.status() === 200 &&
        /\/auth\/[\w-]+$/.test(new URL(res.url()).pathname) &&
        /text\/html/.test(res.headers()['content-type'] ?? '')
      ) {
        resumeCsps.push(res.headers()['content-security-policy'] ?? '');
      }
    });
    const { challenge, verifier } = pkce();
    await page.goto(authUrl(challenge));
    await page.fill('#username', user.username);
    await page.fill('#password', user.password);
    await page.click('button[type=submit]');
    await page.waitForSelector('button[value=allow]');
    const received = receiver.next();
    await page.click('button[value=allow]');
    const fields = await received;
    expect(fields).toEqual({ code: expect.any(String), state: expect.any(String), iss: server.config.issuer });
    await page.waitForSelector('#received');

    expect(resumeCsps).toHaveLength(1);
    const csp = resumeCsps[0]!;
    expect(csp).toMatch(/script-src 'sha256-[\w+/=]+'$/);
    expect(csp).not.toContain('unsafe-inline');
    expect(violations).toEqual([]);

    const tokens = await tokenRequest(server, client, {
      grant_type: 'authorization_code',
      code: fields.code!,
      code_verifier: verifier,
    });
    expect(tokens.status).toBe(200);
    expect(tokens.body.id_token).toEqual(expect.any(String));
    await page.close();
  });

  it('shows a visible button that posts the response when JavaScript is off', async () => {
    const page = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
    const before = receiver.posts.length;
    // Signed in already; a loopback-redirect (native) client is asked for consent every time (oidc-provider's
    // native_client_prompt), which works without JavaScript too.
    await page.goto(authUrl(pkce().challenge, { prompt: '', scope: 'openid' }));
    await Promise.all([page.waitForURL(/\/auth\/[\w-]+$/), page.click('button[value=allow]')]);
    const button = page.getByRole('button', { name: 'Continue' });
    await expect(button.isVisible()).resolves.toBe(true);
    expect(await button.textContent()).toBe('Continue');
    expect(receiver.posts.length).toBe(before); // nothing was submitted without a click
    const received = receiver.next();
    await button.click();
    expect(await received).toEqual({ code: expect.any(String), state: expect.any(String), iss: server.config.issuer });
    await page.close();
  });

  it('refuses a consent form posted from another site, and the real page still works afterwards', async () => {
    const page = await browser.context.newPage();
    await page.goto(authUrl(pkce().challenge, { prompt: 'consent' }));
    await page.waitForSelector('button[value=allow]');
    const action = new URL((await page.getAttribute('form', 'action')) as string, page.url()).toString();
    const token = await page.getAttribute('input[name=csrf_token]', 'value');

    // A page on another site (the client's origin here) that knows the interaction and even its token.
    receiver.pages.set(
      '/attack',
      `<!DOCTYPE html><form method="post" action="${action}"><input type="hidden" name="decision" value="allow"><input type="hidden" name="csrf_token" value="${token}"></form><script>document.forms[0].submit()</script>`,
    );
    const attacker = await browser.context.newPage();
    const before = receiver.posts.length;
    const [response] = await Promise.all([
      attacker.waitForResponse((res) => res.url() === action),
      attacker.goto(`${rp}/attack`),
    ]);
    expect([400, 403]).toContain(response.status());
    expect(await response.text()).toContain('invalid_request');
    expect(receiver.posts.length).toBe(before); // no code was delivered

    const received = receiver.next();
    await page.click('button[value=allow]');
    expect(await received).toEqual({ code: expect.any(String), state: expect.any(String), iss: server.config.issuer });
    await attacker.close();
    await page.close();
  });
});
