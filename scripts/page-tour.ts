// A walk through every page Tollgate renders, in a real browser, the way a person meets them: an error page, sign-in,
// consent, the account page (its own sign-in first), the email verification link, the device flow (code, confirm,
// done), logout (answered "no", then "yes") and the password reset by mail (request, the answer, the new password
// form, the sign-in page afterwards). At each page it calls `visit(name, page)`: `npm run screenshots` takes a
// picture there, test/people/pages-browser.test.ts checks layout, labels and brand.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { BrowserContext, Page } from 'playwright-core';

import { createClient, DEVICE_CODE_GRANT } from '../src/clients/clients.js';
import type { TokenHasher } from '../src/crypto/token-hash.js';
import type { PrismaClient } from '../src/db/generated/client.js';

export interface TourServer {
  url: string;
  prisma: PrismaClient;
  hash: TokenHasher;
  /** The link to `path` (e.g. /account/reset) in the next mail to `to` that holds one. */
  mailLink(to: string, path: string): Promise<string>;
}

export type Visit = (name: string, page: Page) => Promise<void>;

/** The pages, in the order the tour shows them. */
export const TOUR_PAGES = [
  'error',
  'sign-in',
  'consent',
  'account-sign-in',
  'account',
  'verified',
  'device-code',
  'device-confirm',
  'device-done',
  'logout',
  'logout-stayed',
  'logged-out',
  'forgot',
  'forgot-sent',
  'reset',
  'reset-done',
] as const;

/** The application's redirect URI: a page on this machine that says the sign-in came back. */
async function startCallback(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<!DOCTYPE html><html lang="en"><title>Photo Album</title><p>Signed in.</p></html>');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/cb`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

async function json(res: Response): Promise<Record<string, string>> {
  const body = (await res.json()) as Record<string, string>;
  if (!res.ok) throw new Error(`${res.url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** A user created through the admin API, as an administrator would: the verification mail goes out. */
async function createTourUser(server: TourServer) {
  const admin = await createClient(server.prisma, server.hash, {
    name: 'Tour admin',
    admin: true,
    grantTypes: ['client_credentials'],
    redirectUris: [],
  });
  const basic = `Basic ${Buffer.from(`${admin.client_id}:${admin.client_secret}`).toString('base64')}`;
  const { access_token } = await json(
    await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'admin' }),
    }),
  );
  const username = `ada${randomBytes(3).toString('hex')}`;
  const user = { username, password: `pw-${randomBytes(8).toString('hex')}`, email: `${username}@example.com` };
  await json(
    await fetch(`${server.url}/admin/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify(user),
    }),
  );
  return user;
}

async function signIn(page: Page, user: { username: string; password: string }) {
  await page.fill('#username', user.username);
  await page.fill('#password', user.password);
  await Promise.all([page.waitForLoadState(), page.click('button[type=submit]')]);
}

export async function tourPages(context: BrowserContext, server: TourServer, visit: Visit): Promise<void> {
  const callback = await startCallback();
  try {
    await tour(context, server, visit, callback.url);
  } finally {
    await callback.close();
  }
}

async function tour(context: BrowserContext, server: TourServer, visit: Visit, CALLBACK: string): Promise<void> {
  const base = server.url;
  const user = await createTourUser(server);
  const app = await createClient(server.prisma, server.hash, { name: 'Photo Album', redirectUris: [CALLBACK] });
  const tv = await createClient(server.prisma, server.hash, {
    name: 'Living room TV',
    public: true,
    redirectUris: [],
    grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'],
  });
  const page = await context.newPage();

  await page.goto(`${base}/auth?client_id=no-such-application&response_type=code&scope=openid`);
  await visit('error', page);

  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const auth = new URL('/auth', base);
  auth.search = new URLSearchParams({
    client_id: app.client_id,
    response_type: 'code',
    redirect_uri: CALLBACK,
    scope: 'openid offline_access profile email',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'tour',
    prompt: 'consent',
  }).toString();
  await page.goto(auth.href);
  await visit('sign-in', page);
  await signIn(page, user);
  await page.waitForSelector('button[value=allow]');
  await visit('consent', page);
  await Promise.all([page.waitForURL((url) => url.href.startsWith(CALLBACK)), page.click('button[value=allow]')]);
  const code = new URL(page.url()).searchParams.get('code')!;
  // The application redeems the code from this browser (as a single-page app would): a device with a refresh token,
  // named after this browser, for the account page to list.
  const redeemed = await context.request.post(`${base}/token`, {
    headers: { authorization: `Basic ${Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64')}` },
    form: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: CALLBACK },
  });
  if (!redeemed.ok()) throw new Error(`code not redeemed: ${redeemed.status()} ${await redeemed.text()}`);

  await page.goto(`${base}/account`);
  await visit('account-sign-in', page);
  await signIn(page, user);
  await page.waitForSelector('button[value=sign-out-others]');
  await visit('account', page);

  await page.goto(await server.mailLink(user.email, '/account/verify'));
  await visit('verified', page);

  const started = await json(
    await fetch(`${base}/device/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: tv.client_id, scope: 'openid offline_access' }),
    }),
  );
  await page.goto(started.verification_uri!);
  await visit('device-code', page);
  await page.fill('#user_code', started.user_code!);
  await Promise.all([page.waitForSelector('button[name=confirm]'), page.click('button[type=submit]')]);
  await visit('device-confirm', page);
  await page.click('button[name=confirm]');
  // Signed in already in this browser: at most the consent question stands between here and the end page.
  await page.waitForSelector('button[value=allow], h1:has-text("connected")');
  if (await page.locator('button[value=allow]').count()) await page.click('button[value=allow]');
  await page.waitForSelector('h1:has-text("connected")');
  await visit('device-done', page);

  await page.goto(`${base}/session/end`);
  await visit('logout', page);
  await Promise.all([page.waitForSelector('h1:has-text("still signed in")'), page.click('button:has-text("No")')]);
  await visit('logout-stayed', page);
  await page.goto(`${base}/session/end`);
  await Promise.all([page.waitForSelector('h1:has-text("signed out")'), page.click('button[value=yes]')]);
  await visit('logged-out', page);

  await page.goto(`${base}/account/login`);
  await Promise.all([page.waitForURL(/\/account\/forgot$/), page.click('a:has-text("Forgot")')]);
  await visit('forgot', page);
  await page.fill('#email', user.email);
  await Promise.all([page.waitForSelector('.notice'), page.click('button[type=submit]')]);
  await visit('forgot-sent', page);
  await page.goto(await server.mailLink(user.email, '/account/reset'));
  await visit('reset', page);
  await page.fill('#new_password', `new-${user.password}`);
  await Promise.all([page.waitForURL(/notice=password-reset/), page.click('button[type=submit]')]);
  await visit('reset-done', page);
  await page.close();
}
