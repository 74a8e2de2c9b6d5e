// The account page in a real browser (chromium through playwright-core), on PostgreSQL + Redis and on the embedded
// default. Each "device" is a browser context with its own user agent that signs in to an application through the
// real code flow (sign-in page, consent, redirect) and redeems the code from the browser, as a single-page app
// would: its refresh token is then refreshed from that same browser. Shown here: both devices on /account, signing
// one out from the other (its refresh token refused), signing out everywhere else, withdrawing a consent, changing
// the password (the other devices signed out, the page says so), resetting a password from the mailed link (a
// real SMTP server in this process) and verifying an email address from its link.
import { createHash, randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

import type { ClientView } from '../../src/clients/clients.js';
import { adminCall, adminToken } from '../admin/helpers.js';
import { CHROMIUM_PATH } from '../support/chromium.js';
import { linkIn, startSmtp, type TestSmtp } from '../support/mail.js';
import { createTestClient, createUser, introspect, REDIRECT_URI, type User } from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

const FIREFOX_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

// The application is a web application (https redirect URI): a loopback one would be a native client, asked for
// consent every time, and withdrawing a consent would show nothing. The browser is sent there and cannot load it
// (the name resolves to a closed port here), which is fine: the code is in the URL it was sent to.
const CALLBACK = REDIRECT_URI;
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  `--host-resolver-rules=MAP ${new URL(CALLBACK).hostname} 127.0.0.1`,
];

describe.each(MODES)('the account page in chromium (%s)', (mode) => {
  let server: TestServer;
  let smtp: TestSmtp;
  let browser: Browser;
  let app: ClientView;
  let base: string;

  beforeAll(async () => {
    smtp = await startSmtp();
    [server, browser] = await Promise.all([
      startServer(mode, { SMTP_URL: smtp.url }),
      chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS }),
    ]);
    base = server.config.issuer;
    app = await createTestClient(server, { name: 'Photo Album', redirectUris: [CALLBACK] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await smtp?.close();
  });

  const device = async (userAgent: string) => {
    return browser.newContext({ userAgent, viewport: { width: 390, height: 844 } });
  };

  /** The code flow in this browser (signing in and consenting as needed); the code redeemed from the browser. */
  async function signInToApp(
    context: BrowserContext,
    user: User,
    scope = 'openid offline_access email',
    prompt = 'consent',
  ) {
    const page = await context.newPage();
    const verifier = randomBytes(32).toString('base64url');
    const params = new URLSearchParams({
      client_id: app.client_id,
      response_type: 'code',
      redirect_uri: CALLBACK,
      scope,
      state: 's',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      ...(prompt ? { prompt } : {}),
    });
    const back = page.waitForRequest((req) => req.url().startsWith(CALLBACK));
    await page.goto(`${base}/auth?${params}`).catch(() => undefined); // straight back to the application: not loadable here
    if (await page.locator('#password').count()) {
      await page.fill('#username', user.username);
      await page.fill('#password', user.password);
      await Promise.all([page.waitForSelector('button[value=allow]'), page.click('button[type=submit]')]);
    }
    const consented = (await page.locator('button[value=allow]').count()) > 0;
    if (consented) await page.click('button[value=allow]');
    const code = new URL((await back).url()).searchParams.get('code');
    expect(code).toEqual(expect.any(String));
    const tokens = await tokenFrom(context, {
      grant_type: 'authorization_code',
      code: code!,
      code_verifier: verifier,
      redirect_uri: CALLBACK,
    });
    expect(tokens.status).toBe(200);
    await page.close();
    return {
      refreshToken: tokens.body.refresh_token as string,
      accessToken: tokens.body.access_token as string,
      consented,
    };
  }

  /** A token request sent by the browser itself (its user agent, its address). */
  async function tokenFrom(context: BrowserContext, form: Record<string, string>) {
    const res = await context.request.post(`${base}/token`, {
      form,
      headers: { authorization: `Basic ${Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64')}` },
    });
    return { status: res.status(), body: (await res.json()) as Record<string, unknown> };
  }

  const refreshFrom = (context: BrowserContext, refreshToken: string) =>
    tokenFrom(context, { grant_type: 'refresh_token', refresh_token: refreshToken });

  /** /account in this browser, signing in to it when asked. */
  async function openAccount(context: BrowserContext, user: User): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${base}/account`);
    if (page.url().includes('/account/login')) {
      await page.fill('#username', user.username);
      await page.fill('#password', user.password);
      await Promise.all([page.waitForURL(`${base}/account`), page.click('button[type=submit]')]);
    }
    await page.waitForSelector('button[value=sign-out-others]');
    return page;
  }

  const card = (page: Page, ...texts: string[]) =>
    texts.reduce((l, t) => l.filter({ hasText: t }), page.locator('li.card'));

  it('lists both devices in each browser, the current one marked; signing one out from the other refuses its refresh token', async () => {
    const user = await createUser(server);
    const [laptop, phone] = [await device(FIREFOX_WINDOWS), await device(SAFARI_IPHONE)];
    const onLaptop = await signInToApp(laptop, user);
    const onPhone = await signInToApp(phone, user);
    const [laptopPage, phonePage] = [await openAccount(laptop, user), await openAccount(phone, user)];

    for (const page of [laptopPage, phonePage]) {
      await page.reload();
      await expect(card(page, 'Firefox on Windows', 'Photo Album').count()).resolves.toBe(1);
      await expect(card(page, 'Safari on iPhone', 'Photo Album').count()).resolves.toBe(1);
    }
    // Each browser's own account page is a device too, marked as this one.
    await expect(laptopPage.locator('li.card.current').textContent()).resolves.toMatch(
      /Firefox on Windows\s*This device\s*Account page/,
    );
    await expect(phonePage.locator('li.card.current').textContent()).resolves.toMatch(
      /Safari on iPhone\s*This device\s*Account page/,
    );

    // From the laptop, sign the phone's application out.
    await Promise.all([
      laptopPage.waitForURL(/notice=device-signed-out/),
      card(laptopPage, 'Safari on iPhone', 'Photo Album')
        .getByRole('button', { name: /Sign out/ })
        .click(),
    ]);
    await expect(laptopPage.locator('[role=status]').textContent()).resolves.toContain('That device is signed out.');
    await expect(card(laptopPage, 'Safari on iPhone', 'Photo Album').count()).resolves.toBe(0);
    await expect(card(laptopPage, 'Firefox on Windows', 'Photo Album').count()).resolves.toBe(1);

    expect((await refreshFrom(phone, onPhone.refreshToken)).body.error).toBe('invalid_grant');
    const rotated = await refreshFrom(laptop, onLaptop.refreshToken);
    expect(rotated.status).toBe(200);
    // The phone's own account page was not signed out.
    await phonePage.reload();
    await expect(phonePage.locator('button[value=sign-out-others]').count()).resolves.toBe(1);
  });

  it('signs out everywhere else: the other browser is sent to the sign-in form, every other refresh token refused', async () => {
    const user = await createUser(server);
    const [laptop, phone] = [await device(FIREFOX_WINDOWS), await device(SAFARI_IPHONE)];
    const onLaptop = await signInToApp(laptop, user);
    const onPhone = await signInToApp(phone, user);
    const [laptopPage, phonePage] = [await openAccount(laptop, user), await openAccount(phone, user)];
    await laptopPage.reload();
    await expect(laptopPage.locator('li.card button[value=sign-out]').count()).resolves.toBe(4);

    await Promise.all([
      laptopPage.waitForURL(/notice=others-signed-out/),
      laptopPage.click('button[value=sign-out-others]'),
    ]);
    await expect(laptopPage.locator('[role=status]').textContent()).resolves.toContain(
      'You are signed out everywhere else.',
    );
    // Only this page is left.
    await expect(laptopPage.locator('li.card button[value=sign-out]').count()).resolves.toBe(1);
    await expect(laptopPage.locator('li.card.current button[value=sign-out]').count()).resolves.toBe(1);

    await phonePage.reload();
    expect(phonePage.url()).toContain('/account/login');
    await expect(phonePage.locator('#password').count()).resolves.toBe(1);
    expect((await refreshFrom(phone, onPhone.refreshToken)).body.error).toBe('invalid_grant');
    expect((await refreshFrom(laptop, onLaptop.refreshToken)).body.error).toBe('invalid_grant');
  });

  it('withdraws a consent: the application loses its tokens and must ask again', async () => {
    const user = await createUser(server);
    const laptop = await device(FIREFOX_WINDOWS);
    const held = await signInToApp(laptop, user);
    // Consented already: without prompt=consent the application is let through without asking.
    expect((await signInToApp(laptop, user, 'openid email', '')).consented).toBe(false);

    const page = await openAccount(laptop, user);
    await expect(card(page, 'Photo Album', 'Withdraw access').count()).resolves.toBe(1);
    await Promise.all([
      page.waitForURL(/notice=consent-withdrawn/),
      card(page, 'Photo Album', 'Withdraw access').getByRole('button', { name: 'Withdraw access' }).click(),
    ]);
    await expect(page.locator('[role=status]').textContent()).resolves.toContain('Access withdrawn.');
    await expect(page.locator('button[value=withdraw-consent]').count()).resolves.toBe(0);

    expect((await refreshFrom(laptop, held.refreshToken)).body.error).toBe('invalid_grant');
    expect((await introspect(server, app, held.accessToken)).body.active).toBe(false);
    await page.reload();
    await expect(page.locator('section[aria-labelledby=consents]').textContent()).resolves.toContain('None.');
    expect((await signInToApp(laptop, user, 'openid email', '')).consented).toBe(true);
  });

  it('changes the password: the other devices are signed out and the page says so; the new password works', async () => {
    const user = await createUser(server);
    const [laptop, phone] = [await device(FIREFOX_WINDOWS), await device(SAFARI_IPHONE)];
    const onPhone = await signInToApp(phone, user);
    const [laptopPage, phonePage] = [await openAccount(laptop, user), await openAccount(phone, user)];

    const password = `new-${user.password}`;
    await laptopPage.fill('#current_password', user.password);
    await laptopPage.fill('#new_password', password);
    await Promise.all([
      laptopPage.waitForURL(/notice=password-changed/),
      laptopPage.click('button[value=change-password]'),
    ]);
    await expect(laptopPage.locator('[role=status]').textContent()).resolves.toBe(
      'Your password is changed. Your other devices are signed out.',
    );
    await expect(laptopPage.locator('li.card button[value=sign-out]').count()).resolves.toBe(1);

    await phonePage.reload();
    expect(phonePage.url()).toContain('/account/login');
    expect((await refreshFrom(phone, onPhone.refreshToken)).body.error).toBe('invalid_grant');

    // The phone signs in again, with the new password only.
    await phonePage.fill('#username', user.username);
    await phonePage.fill('#password', user.password);
    await Promise.all([phonePage.waitForSelector('[role=alert]'), phonePage.click('button[type=submit]')]);
    await expect(phonePage.locator('[role=alert]').textContent()).resolves.toContain('Invalid username or password.');
    await openAccount(phone, { ...user, password });
  });

  it('resets a forgotten password from the link in the mail: every device signed out, the new password signs in', async () => {
    const user = await createUser(server);
    const email = `${user.username}@example.com`;
    const laptop = await device(FIREFOX_WINDOWS);
    const held = await signInToApp(laptop, user);

    const phone = await device(SAFARI_IPHONE);
    const page = await phone.newPage();
    await page.goto(`${base}/account`);
    await Promise.all([page.waitForURL(/\/account\/forgot$/), page.getByRole('link', { name: /Forgot/ }).click()]);
    await page.fill('#email', email);
    await Promise.all([page.waitForSelector('[role=status]'), page.click('button[type=submit]')]);
    await expect(page.locator('[role=status]').textContent()).resolves.toContain(
      'a link to choose a new password is on its way',
    );

    const link = linkIn(await smtp.nextTo(email), '/account/reset');
    await page.goto(link);
    const password = `reset-${user.password}`;
    await page.fill('#new_password', password);
    await Promise.all([page.waitForURL(/notice=password-reset/), page.click('button[type=submit]')]);
    await expect(page.locator('[role=status]').textContent()).resolves.toContain('Sign in with your new password.');

    expect((await refreshFrom(laptop, held.refreshToken)).body.error).toBe('invalid_grant');
    await page.fill('#username', user.username);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL(`${base}/account`), page.click('button[type=submit]')]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Your account');

    // The link worked once.
    await page.goto(link);
    await expect(page.locator('h1').textContent()).resolves.toBe('This link no longer works');
  });

  it('verifies a new email address from the link in the mail', async () => {
    const user = await createUser(server);
    const email = `changed-${user.username}@example.com`;
    const { token } = await adminToken(server);
    expect((await adminCall(server, 'PATCH', `/admin/users/${user.id}`, { token, body: { email } })).status).toBe(200);

    const laptop = await device(FIREFOX_WINDOWS);
    const page = await openAccount(laptop, user);
    await expect(page.locator('main > p').first().textContent()).resolves.toContain(`${email} (not verified)`);

    await page.goto(linkIn(await smtp.nextTo(email), '/account/verify'));
    await expect(page.locator('[role=status]').textContent()).resolves.toContain(
      `Your email address ${email} is verified.`,
    );
    await Promise.all([page.waitForURL(`${base}/account`), page.getByRole('link', { name: 'Your account' }).click()]);
    await expect(page.locator('main > p').first().textContent()).resolves.toContain(`${email} (verified)`);
  });
});
