// The account page over HTTP, as a plain HTML browser uses it (cookies, forms, no script), on PostgreSQL + Redis
// and on the embedded default: its own sign-in (CSRF-protected, the generic refusal), the device list (one per
// refresh-token family, current device marked, readable device names), signing out one device or every other one,
// withdrawing a consent, and changing the password (other devices signed out).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { ClientView } from '../../src/clients/clients.js';
import { adminCall, adminToken, signInDevice } from '../admin/helpers.js';
import { Browser } from '../support/browser.js';
import { familyOf } from '../support/families.js';
import { createTestClient, createUser, introspect, obtainTokens, refresh, type User } from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';
import { GENERIC_LOGIN_ERROR } from './helpers.js';

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';

const csrfOf = (page: string) => /name="csrf_token" value="([^"]+)"/.exec(page)?.[1] ?? '';
const unescape = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"');
/** The device cards of the page: family id and the card's text. */
const devicesOf = (page: string) =>
  [...page.matchAll(/<li class="card( current)?">\s*<form[^]*?name="device" value="([^"]+)"[^]*?<\/li>/g)].map((m) => ({
    id: m[2]!,
    current: Boolean(m[1]),
    text: unescape(m[0]),
  }));
const consentsOf = (page: string) =>
  [...page.matchAll(/name="consent" value="([^"]+)"[^]*?<h3>([^<]*)<\/h3>/g)].map((m) => ({
    id: m[1]!,
    application: unescape(m[2]!),
  }));

class AccountBrowser {
  readonly browser: Browser;
  page = '';
  constructor(
    readonly server: TestServer,
    readonly userAgent = FIREFOX,
  ) {
    this.browser = new Browser(server.url);
  }
  async open(path = '/account') {
    const { res, url } = await this.browser.follow(
      await this.browser.request(path, { headers: { 'user-agent': this.userAgent } }),
    );
    this.page = await res.text();
    return { status: res.status, url };
  }
  async post(path: string, fields: Record<string, string>, csrf = csrfOf(this.page)) {
    const res = await this.browser.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': this.userAgent },
      body: new URLSearchParams({ csrf_token: csrf, ...fields }).toString(),
    });
    if (res.status === 303)
      return {
        status: 303,
        location: res.headers.get('location') ?? '',
        followed: await this.open(res.headers.get('location')!),
      };
    this.page = await res.text();
    return { status: res.status, location: '', followed: undefined };
  }
  async signIn(user: User) {
    await this.open('/account');
    return this.post('/account/login', { username: user.username, password: user.password });
  }
}

describe.each(MODES)('account page (%s)', (mode) => {
  let server: TestServer;
  let client: ClientView;
  let token: string;

  beforeAll(async () => {
    server = await startServer(mode);
    client = await createTestClient(server, { name: 'Photo <App> & Co' });
    ({ token } = await adminToken(server));
  });
  afterAll(() => server?.stop());

  it('sends an unsigned visitor to the sign-in form, which refuses a forged post and a wrong password alike', async () => {
    const user = await createUser(server);
    const b = new AccountBrowser(server);
    const first = await b.open('/account');
    expect(first.url).toBe(`${server.url}/account/login`);
    expect(b.page).toContain('name="username"');
    expect(b.page).toMatch(/<input[^>]*name="password"[^>]*type="password"/);
    expect(b.page).toMatch(/<a href="\/account\/forgot">Forgot[^<]*<\/a>/);

    const forged = await b.post(
      '/account/login',
      { username: user.username, password: user.password },
      'not-the-token',
    );
    expect(forged.status).toBe(403);
    const other = new AccountBrowser(server);
    await other.open('/account/login');
    // Another browser's token does not fit this browser's cookie.
    expect(
      (await b.post('/account/login', { username: user.username, password: user.password }, csrfOf(other.page))).status,
    ).toBe(403);

    await b.open('/account/login');
    const wrong = await b.post('/account/login', { username: user.username, password: 'wrong-password' });
    expect(wrong.status).toBe(401);
    expect(b.page).toContain(GENERIC_LOGIN_ERROR);
    const ok = await b.signIn(user);
    expect(ok.status).toBe(303);
    expect(ok.followed!.url).toBe(`${server.url}/account`);
    expect(b.page).toContain(`Signed in as <strong>${user.username}</strong>`);
  });

  it('lists one device per family, with application, device name, address and times, the current one marked', async () => {
    const user = await createUser(server);
    const phone = await signInDevice(server, client, user, IPHONE);
    const b = new AccountBrowser(server);
    await b.signIn(user);
    const devices = devicesOf(b.page);
    expect(devices).toHaveLength(2);
    const current = devices.find((d) => d.current)!;
    expect(current.text).toContain('Firefox on Linux');
    expect(current.text).toContain('This device');
    expect(current.text).toContain('Account page');
    const other = devices.find((d) => !d.current)!;
    expect(other.id).toBe((await familyOf(server, phone.refresh_token)).id);
    expect(other.text).toContain('Safari on iPhone');
    expect(other.text).toContain('Photo <App> & Co');
    expect(b.page).toContain('Photo &lt;App&gt; &amp; Co'); // escaped
    expect(other.text).toMatch(/First signed in<\/dt><dd><time datetime="[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    expect(other.text).toMatch(/Address<\/dt><dd>(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)</);
    expect(other.text).toContain('<button type="submit" name="action" value="sign-out">');
  });

  it('signs one device out: its refresh token is refused, the others keep working', async () => {
    const user = await createUser(server);
    const phone = await signInDevice(server, client, user, IPHONE);
    const laptop = await signInDevice(server, client, user, FIREFOX);
    const b = new AccountBrowser(server);
    await b.signIn(user);
    const phoneFamily = (await familyOf(server, phone.refresh_token)).id;
    const res = await b.post('/account', { action: 'sign-out', device: phoneFamily });
    expect(res.status).toBe(303);
    expect(b.page).toContain('That device is signed out.');
    expect(devicesOf(b.page).map((d) => d.id)).not.toContain(phoneFamily);
    expect((await refresh(server, client, phone.refresh_token)).body.error).toBe('invalid_grant');
    expect((await introspect(server, client, phone.access_token)).body.active).toBe(false);
    expect((await refresh(server, client, laptop.refresh_token)).status).toBe(200);
    const events = (await adminCall(server, 'GET', `/admin/audit?user_id=${user.id}&type=session.revoked`, { token }))
      .body.items;
    expect(events[0]).toMatchObject({
      family_id: phoneFamily,
      detail: { reason: 'device_logout', via: 'account_page' },
    });

    // Someone else's device cannot be named: nothing happens to it.
    const stranger = await createUser(server);
    const theirs = await signInDevice(server, client, stranger, IPHONE);
    const refused = await b.post('/account', {
      action: 'sign-out',
      device: (await familyOf(server, theirs.refresh_token)).id,
    });
    expect(refused.status).toBe(404);
    expect(b.page).toContain('this user has no live session with that id');
    expect((await refresh(server, client, theirs.refresh_token)).status).toBe(200);

    // Signing the current device out ends the account page session.
    const here = devicesOf(b.page).find((d) => d.current)!.id;
    const out = await b.post('/account', { action: 'sign-out', device: here });
    expect(out.followed!.url).toBe(`${server.url}/account/login?notice=signed-out`);
    expect((await b.open('/account')).url).toBe(`${server.url}/account/login`);
  });

  it('signs out everywhere else: every other family and earlier access token dead, this page still signed in', async () => {
    const user = await createUser(server);
    const phone = await signInDevice(server, client, user, IPHONE);
    const withoutFamily = await obtainTokens(server, client, user, { scope: 'openid' });
    const b = new AccountBrowser(server);
    const elsewhere = new AccountBrowser(server, IPHONE);
    await elsewhere.signIn(user);
    await b.signIn(user);
    expect(devicesOf(b.page)).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 1000)); // tokens from the same second as a logout count as earlier
    const res = await b.post('/account', { action: 'sign-out-others' });
    expect(res.status).toBe(303);
    expect(b.page).toContain('You are signed out everywhere else.');
    expect(devicesOf(b.page)).toEqual([expect.objectContaining({ current: true })]);
    expect((await refresh(server, client, phone.refresh_token)).body.error).toBe('invalid_grant');
    expect((await introspect(server, client, withoutFamily.access_token)).body.active).toBe(false);
    expect((await elsewhere.open('/account')).url).toBe(`${server.url}/account/login`);
  });

  it('lists consents and withdraws one: the application must ask again and its tokens die', async () => {
    const user = await createUser(server);
    const tokens = await obtainTokens(server, client, user, { scope: 'openid offline_access email' });
    const b = new AccountBrowser(server);
    await b.signIn(user);
    const [consent] = consentsOf(b.page);
    expect(consent).toEqual({ id: expect.any(String), application: 'Photo <App> & Co' });
    expect(b.page).toContain('<code>email</code>');
    const res = await b.post('/account', { action: 'withdraw-consent', consent: consent!.id });
    expect(res.status).toBe(303);
    expect(b.page).toContain('Access withdrawn.');
    expect(consentsOf(b.page)).toEqual([]);
    expect((await refresh(server, client, tokens.refresh_token)).body.error).toBe('invalid_grant');
    expect((await introspect(server, client, tokens.access_token)).body.active).toBe(false);
    const events = (await adminCall(server, 'GET', `/admin/audit?user_id=${user.id}&type=consent.withdrawn`, { token }))
      .body.items;
    expect(events).toEqual([expect.objectContaining({ client_id: client.client_id, detail: { via: 'account_page' } })]);
    expect((await b.post('/account', { action: 'withdraw-consent', consent: consent!.id })).status).toBe(404);
  });

  it('changes the password: the current one is checked, other devices are signed out, this one stays', async () => {
    const user = await createUser(server);
    const phone = await signInDevice(server, client, user, IPHONE);
    const b = new AccountBrowser(server);
    await b.signIn(user);
    expect(b.page).toContain('Changing your password signs out all your other devices.');
    const wrong = await b.post('/account', {
      action: 'change-password',
      current_password: 'not-it-at-all',
      new_password: 'brand-new-password',
    });
    expect(wrong.status).toBe(400);
    expect(b.page).toContain('Your current password is not right.');
    const short = await b.post('/account', {
      action: 'change-password',
      current_password: user.password,
      new_password: 'short',
    });
    expect(short.status).toBe(400);
    expect(b.page).toContain('password must be 8-1024 characters');

    const res = await b.post('/account', {
      action: 'change-password',
      current_password: user.password,
      new_password: 'brand-new-password',
    });
    expect(res.status).toBe(303);
    expect(b.page).toContain('Your password is changed. Your other devices are signed out.');
    expect(devicesOf(b.page)).toEqual([expect.objectContaining({ current: true })]);
    expect((await refresh(server, client, phone.refresh_token)).body.error).toBe('invalid_grant');
    const again = new AccountBrowser(server);
    expect((await again.signIn(user)).status).toBe(401);
    expect((await again.signIn({ ...user, password: 'brand-new-password' })).status).toBe(303);
    const types = (
      await adminCall(server, 'GET', `/admin/audit?user_id=${user.id}&type=user.password_changed`, { token })
    ).body.items;
    expect(types).toEqual([expect.objectContaining({ detail: { via: 'account_page' } })]);
  });

  it('refuses a forged post and an unknown action; a disabled user is signed out of the page', async () => {
    const user = await createUser(server);
    const b = new AccountBrowser(server);
    await b.signIn(user);
    expect((await b.post('/account', { action: 'sign-out-others' }, 'forged')).status).toBe(403);
    await b.open('/account');
    expect((await b.post('/account', { action: 'explode' })).status).toBe(400);
    expect(b.page).toContain('action must be');
    await adminCall(server, 'PATCH', `/admin/users/${user.id}`, { token, body: { disabled: true } });
    expect((await b.open('/account')).url).toBe(`${server.url}/account/login`);
  });
});
