// Password reset and email verification by mail, through a real SMTP server in the test process, on PostgreSQL +
// Redis and on the embedded default: the sign-in page links to the reset form, the answer is the same whether or
// not an account has the address, the mailed link is single-use, hashed at rest and expires, a reset signs every
// device out; a new address gets a verification link and email_verified shows in the user view, userinfo and the
// ID token. Without SMTP_URL, mails land as .eml files in $DATA_DIR/outbox.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';

import type { ClientView } from '../../src/clients/clients.js';
import { adminCall, adminToken, signInDevice } from '../admin/helpers.js';
import { Browser, parseForm, pkce } from '../support/browser.js';
import { linkIn, startSmtp, type TestSmtp } from '../support/mail.js';
import { authorizationUrl, createTestClient, createUser, introspect, obtainTokens, refresh } from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';
import { userinfo } from './helpers.js';

const csrfOf = (page: string) => /name="csrf_token" value="([^"]+)"/.exec(page)?.[1] ?? '';

/** Asks for a reset link for `email` from a fresh browser; the page it answers with. */
async function requestReset(server: TestServer, email: string) {
  const browser = new Browser(server.url);
  const form = await (await browser.get('/account/forgot')).text();
  expect(form).toMatch(/<input[^>]*name="email"/);
  const res = await browser.request('/account/forgot', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf_token: csrfOf(form), email }).toString(),
  });
  return { status: res.status, page: await res.text() };
}

/** Opens a reset link and posts a new password; the status and the page or redirect. */
async function useResetLink(server: TestServer, link: string, password: string) {
  const browser = new Browser(server.url);
  const page = await (await browser.get(link)).text();
  const token = new URL(link).searchParams.get('token')!;
  // A dead link shows no form; this browser's token from another of the pages still lets the post be tried.
  const csrf = csrfOf(page) || csrfOf(await (await browser.get('/account/forgot')).text());
  const res = await browser.request('/account/reset', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf_token: csrf, token, new_password: password }).toString(),
  });
  return { form: page, status: res.status, location: res.headers.get('location'), page: await res.text() };
}

describe.each(MODES)('password reset and email verification by mail (%s)', (mode) => {
  let smtp: TestSmtp;
  let server: TestServer;
  let client: ClientView;
  let token: string;

  beforeAll(async () => {
    smtp = await startSmtp();
    server = await startServer(mode, { SMTP_URL: smtp.url, MAIL_FROM: 'Tollgate <accounts@example.com>' });
    client = await createTestClient(server);
    ({ token } = await adminToken(server));
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
  });

  it('links to the reset form from the sign-in page', async () => {
    const browser = new Browser(server.url);
    const { res } = await browser.follow(await browser.get(authorizationUrl(server, client, pkce().challenge)));
    const page = await res.text();
    expect(parseForm(page).inputs).toContain('password');
    expect(page).toMatch(/<a href="\/account\/forgot">[^<]*Forgot[^<]*<\/a>/);
  });

  it('resets a password from the mailed link: single use, hashed at rest, every device signed out', async () => {
    const user = await createUser(server);
    const email = `${user.username}@example.com`;
    const device = await signInDevice(server, client, user, 'Phone/1.0');

    const known = await requestReset(server, email);
    const unknown = await requestReset(server, `nobody-${user.username}@example.com`);
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    const same = (page: string) =>
      page.replace(/name="csrf_token" value="[^"]+"/, '').replace(/(value="|address )[^"\s,]+/g, '$1…');
    expect(same(known.page)).toBe(same(unknown.page));
    expect(known.page).toContain('a link to choose a new password is on its way');

    const mail = await smtp.nextTo(email);
    expect(mail.from?.value[0]).toMatchObject({ name: 'Tollgate', address: 'accounts@example.com' });
    expect(mail.subject).toContain('Reset your');
    const link = linkIn(mail, '/account/reset');
    expect(link.startsWith(`${server.config.issuer}/account/reset?token=`)).toBe(true);
    const raw = new URL(link).searchParams.get('token')!;
    const rows = await server.db.sql.query<{ id: string; expires_at: Date; created_at: Date }>(
      "SELECT id, expires_at, created_at FROM account_tokens WHERE account_id = $1 AND purpose = 'password_reset'",
      [user.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).not.toContain(raw);
    expect(
      Math.abs(new Date(rows[0]!.expires_at).getTime() - new Date(rows[0]!.created_at).getTime() - 30 * 60 * 1000),
    ).toBeLessThan(1000);

    const short = await useResetLink(server, link, 'short');
    expect(short.form).toMatch(/<input[^>]*name="new_password"[^>]*type="password"/);
    expect(short.status).toBe(400); // a refused password does not use the link up
    const done = await useResetLink(server, link, 'a-brand-new-password');
    expect(done.status).toBe(303);
    expect(done.location).toBe('/account/login?notice=password-reset');
    expect((await refresh(server, client, device.refresh_token)).body.error).toBe('invalid_grant');
    expect((await introspect(server, client, device.access_token)).body.active).toBe(false);
    expect((await obtainTokens(server, client, { ...user, password: 'a-brand-new-password' })).access_token).toEqual(
      expect.any(String),
    );
    await expect(obtainTokens(server, client, user)).rejects.toThrow();

    const again = await useResetLink(server, link, 'yet-another-password');
    expect(again.status).toBe(400);
    expect(again.page).toContain('This link no longer works');
    const events = (await adminCall(server, 'GET', `/admin/audit?user_id=${user.id}&limit=100`, { token })).body
      .items as { type: string; detail: Record<string, unknown> }[];
    expect(events.filter((e) => e.type === 'user.password_reset_requested')).toHaveLength(1);
    expect(events.find((e) => e.type === 'user.password_changed')?.detail).toEqual({
      reason: 'password_reset',
      via: 'password_reset',
    });
  });

  it('refuses an expired link', async () => {
    const user = await createUser(server);
    await requestReset(server, `${user.username}@example.com`);
    const link = linkIn(await smtp.nextTo(`${user.username}@example.com`), '/account/reset');
    await server.db.sql.query(
      "UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE account_id = $1",
      [user.id],
    );
    const res = await useResetLink(server, link, 'a-brand-new-password');
    expect(res.form).toContain('This link no longer works');
    expect(res.status).toBe(400);
  });

  it('mails a verification link to a new address; email_verified in the user, userinfo and the ID token', async () => {
    const username = `verify_${Date.now().toString(36)}`;
    const email = `${username}@example.org`;
    const created = await adminCall(server, 'POST', '/admin/users', {
      token,
      body: { username, password: 'a-good-password', email },
    });
    expect(created.body.email_verified).toBe(false);
    const link = linkIn(await smtp.nextTo(email), '/account/verify');
    const res = await fetch(link, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`Your email address ${email} is verified.`);
    expect((await fetch(link)).status).toBe(400); // used

    const user = { id: created.body.id as string, username, password: 'a-good-password' };
    expect((await adminCall(server, 'GET', `/admin/users/${user.id}`, { token })).body.email_verified).toBe(true);
    const tokens = await obtainTokens(server, client, user, { scope: 'openid email' });
    expect(await (await userinfo(server, tokens.access_token)).json()).toMatchObject({
      sub: user.id,
      email,
      email_verified: true,
    });
    expect(decodeJwt(tokens.id_token!)).toMatchObject({ email, email_verified: true });
    const events = (
      await adminCall(server, 'GET', `/admin/audit?user_id=${user.id}&type=user.email_verified`, { token })
    ).body.items;
    expect(events).toHaveLength(1);

    // A changed address is unproven again, and gets its own link.
    const moved = await adminCall(server, 'PATCH', `/admin/users/${user.id}`, {
      token,
      body: { email: `new-${email}` },
    });
    expect(moved.body.email_verified).toBe(false);
    expect(linkIn(await smtp.nextTo(`new-${email}`), '/account/verify')).not.toBe(link);
  });
});

describe('mail without SMTP_URL (embedded default)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('embedded');
  }, 60_000);
  afterAll(() => server?.stop());

  it('writes each mail as an .eml file to $DATA_DIR/outbox and logs where', async () => {
    const user = await createUser(server);
    await requestReset(server, `${user.username}@example.com`);
    const outbox = join(server.config.dataDir, 'outbox');
    let files: string[] = [];
    for (let i = 0; i < 100 && files.length === 0; i++) {
      files = await readdir(outbox).catch(() => []);
      if (!files.length) await new Promise((r) => setTimeout(r, 50));
    }
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/\.eml$/);
    const eml = await readFile(join(outbox, files[0]!), 'utf8');
    expect(eml).toContain(`To: ${user.username}@example.com`);
    expect(eml).toMatch(/\/account\/reset\?token=[\w-]+/);
    const logged = server.logs.join('');
    expect(logged).toContain(`mail written to ${join(outbox, files[0]!)}`);
    expect(logged).not.toMatch(/reset\?token=/);
  });
});
