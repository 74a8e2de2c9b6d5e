// The device authorization grant (RFC 8628) end to end: a device (openid-client) starts the flow and polls; a
// person enters the code on /device, signs in and consents with the same forms as the code flow; the refresh token
// starts a family. Polling answers authorization_pending, slow_down, access_denied and expired_token; codes are
// hashed at rest; wrong user codes are rate limited.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import * as oidc from 'openid-client';

import { DEVICE_CODE_GRANT, type ClientView } from '../../src/clients/clients.js';
import { Browser, parseForm } from '../support/browser.js';
import { createTestClient, createUser, refresh, tokenRequest, type User } from '../support/oauth.js';
import { answerPages } from '../support/pages.js';
import { listRedisKeys, redisUrl } from '../support/postgres.js';
import { runCliInProcess } from '../support/cli.js';
import { laterBy } from '../support/clock.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

interface Started {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

async function startDevice(server: TestServer, client: ClientView, scope = 'openid offline_access'): Promise<Started> {
  const res = await fetch(`${server.url}/device/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ client_id: client.client_id, scope }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Started;
}

const poll = (server: TestServer, client: ClientView, deviceCode: string) =>
  tokenRequest(server, client, { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode });

/** Enters the user code on /device and confirms; returns where the confirmation led (the login page). */
async function enterCode(browser: Browser, started: Started, action: 'confirm' | 'abort' = 'confirm') {
  const page = await (await browser.get(started.verification_uri)).text();
  expect(page).toMatch(/<input[^>]*name="user_code"/);
  const form = parseForm(page);
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)![1]!;
  const confirm = await browser.postForm(new URL(form.action!, started.verification_uri).href, {
    xsrf,
    user_code: started.user_code.toLowerCase(),
  });
  const confirmPage = await confirm.text();
  expect(confirm.status).toBe(200);
  expect(confirmPage).toContain(started.user_code);
  const xsrf2 = /name="xsrf" value="([^"]+)"/.exec(confirmPage)![1]!;
  return browser.follow(
    await browser.postForm(new URL(form.action!, started.verification_uri).href, {
      xsrf: xsrf2,
      user_code: started.user_code,
      [action]: 'yes',
    }),
  );
}

/** Every key and value under the server's Redis prefix (external mode). */
async function dumpRedis(server: TestServer): Promise<string> {
  const redis = new Redis(redisUrl());
  try {
    const keys = await listRedisKeys(server.config.redisKeyPrefix);
    const values = await Promise.all(
      keys.map(async (k) =>
        (await redis.type(k)) === 'set' ? (await redis.smembers(k)).join(' ') : await redis.get(k),
      ),
    );
    return keys.map((k, i) => `${k} ${values[i]}`).join('\n');
  } finally {
    redis.disconnect();
  }
}

describe.each(MODES)('device authorization grant (%s)', (mode) => {
  let server: TestServer;
  let user: User;
  let tv: ClientView;
  beforeAll(async () => {
    // Long enough for the end-to-end test on a busy machine (openid-client alone waits the 5 s interval); the expiry
    // test moves the clock past it instead of waiting.
    server = await startServer(mode, { DEVICE_CODE_TTL_SECONDS: '60' });
    user = await createUser(server);
    tv = await createTestClient(server, {
      name: 'Living room TV',
      public: true,
      redirectUris: [],
      grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'],
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('advertises the device authorization endpoint and grant', async () => {
    const meta = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      any
    >;
    expect(meta.device_authorization_endpoint).toBe(`${server.config.issuer}/device/auth`);
    expect(meta.grant_types_supported).toContain(DEVICE_CODE_GRANT);
  });

  it('runs end to end with openid-client polling while the user signs in on /device; the refresh token starts a family', async () => {
    const config = await oidc.discovery(new URL(server.url), tv.client_id, undefined, oidc.None(), {
      execute: [oidc.allowInsecureRequests],
    });
    const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid offline_access' });
    expect(started.interval).toBe(5);
    expect(started.expires_in).toBe(60);
    expect(started.user_code).toMatch(/^[B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}$/);

    // Hashed at rest: neither code appears in the store or the database.
    const polled = oidc.pollDeviceAuthorizationGrant(config, started);
    const browser = new Browser(server.url);
    const login = await enterCode(browser, started as unknown as Started);
    const walked = await answerPages(browser, login, user);
    expect(walked.res.status).toBe(200);
    expect(walked.pages.at(-1)).toContain('Your device is connected to Living room TV');
    const tokens = await polled;
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.claims()?.sub).toBe(user.id);

    const families = await server.db.prisma.refreshFamily.findMany({
      where: { accountId: user.id, clientId: tv.client_id },
    });
    expect(families).toHaveLength(1);
    const rotated = await refresh(server, tv, tokens.refresh_token!);
    expect(rotated.status).toBe(200);
    expect(
      (await server.db.prisma.refreshFamily.findUniqueOrThrow({ where: { id: families[0]!.id } })).refreshCount,
    ).toBe(1);
    const dump =
      JSON.stringify(await server.db.prisma.oidcPayload.findMany()) +
      JSON.stringify(await server.db.prisma.refreshToken.findMany());
    const store = mode === 'external' ? await dumpRedis(server) : '';
    if (mode === 'external') expect(store).toContain(':oidc:DeviceCode:'); // the dump is real
    for (const text of [dump, store]) {
      expect(text).not.toContain(started.device_code);
      expect(text).not.toContain(started.user_code.replace('-', ''));
    }
  });

  it('answers authorization_pending, then slow_down to a device polling too fast', async () => {
    const started = await startDevice(server, tv);
    const first = await poll(server, tv, started.device_code);
    expect(first.status).toBe(400);
    expect(first.body.error).toBe('authorization_pending');
    const fast = await poll(server, tv, started.device_code);
    expect(fast.status).toBe(400);
    expect(fast.body.error).toBe('slow_down');
  });

  it('answers access_denied when the user cancels on the device page or denies consent', async () => {
    const cancelled = await startDevice(server, tv);
    const page = await enterCode(new Browser(server.url), cancelled, 'abort');
    expect(await page.res.text()).toContain('cancelled');
    expect((await poll(server, tv, cancelled.device_code)).body.error).toBe('access_denied');

    const denied = await startDevice(server, tv);
    const browser = new Browser(server.url);
    await answerPages(browser, await enterCode(browser, denied), user, 'deny');
    expect((await poll(server, tv, denied.device_code)).body.error).toBe('access_denied');
  });

  it('answers expired_token after DEVICE_CODE_TTL_SECONDS, and the page refuses the code', async () => {
    const started = await startDevice(server, tv);
    const control = await startDevice(server, tv); // polled once only: a second poll would be told to slow down
    const browser = new Browser(server.url);
    // The clock moved instead of waiting (test/support/clock.ts): two seconds before expiry a code is still
    // pending, a second after it the code has expired.
    expect((await laterBy(58_000, () => poll(server, tv, control.device_code))).body.error).toBe(
      'authorization_pending',
    );
    await laterBy(61_000, async () => {
      const res = await poll(server, tv, started.device_code);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('expired_token');
      const page = await (await browser.get(started.verification_uri)).text();
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)![1]!;
      const again = await (
        await browser.postForm(started.verification_uri, { xsrf, user_code: started.user_code })
      ).text();
      expect(again).toContain('That code has expired');
    });
  });

  it('refuses an unknown device code and a wrong user code, escaping what it shows', async () => {
    const res = await poll(server, tv, 'not-a-device-code');
    expect(res.body.error).toBe('invalid_grant');
    const browser = new Browser(server.url);
    const page = await (await browser.get(`${server.url}/device?user_code=${encodeURIComponent('<b>x</b>')}`)).text();
    expect(page).toContain('value="&lt;b&gt;x&lt;/b&gt;"'); // verification_uri_complete fills the field, escaped
    expect(page).not.toContain('<script');
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)![1]!;
    const wrong = await (await browser.postForm(`${server.url}/device`, { xsrf, user_code: 'BCDF-GHJK' })).text();
    expect(wrong).toContain('That code is not valid');
  });

  it('accepts the device_code grant type from the CLI', async () => {
    const res = await runCliInProcess(
      ['clients', 'create', '--name', 'CLI tool', '--public', '--grant-types', `${DEVICE_CODE_GRANT},refresh_token`],
      { env: server.env },
    );
    expect(res.code).toBe(0);
    expect(res.json).toMatchObject({
      grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
      redirect_uris: [],
      token_endpoint_auth_method: 'none',
    });
    const started = await startDevice(server, res.json as ClientView);
    expect(started.user_code).toEqual(expect.any(String));
  });
});

describe('device flow rate limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external', { RATE_LIMIT_ENABLED: 'true', LOGIN_FAILURES_PER_IP: '3' });
  });
  afterAll(() => server?.stop());

  it('answers 429 after too many wrong user codes from one address', async () => {
    const browser = new Browser(server.url);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const page = await (await browser.get(`${server.url}/device`)).text();
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
      const res = await browser.postForm(`${server.url}/device`, { xsrf, user_code: `BCDF-GHJ${'KLMN'[i]}` });
      statuses.push(res.status);
      await res.text();
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe.each(MODES)('device flow rate limits under concurrency (%s storage)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(mode, { RATE_LIMIT_ENABLED: 'true', LOGIN_FAILURES_PER_IP: '3' });
  });
  afterAll(() => server?.stop());

  it('tries at most the limit of 20 wrong user codes sent at once; the rest get 429', async () => {
    // Each attempt from its own browser (a device page's xsrf token is its session's), all from one address.
    const pages = [];
    for (let i = 0; i < 20; i++) {
      const browser = new Browser(server.url);
      const page = await (await browser.get(`${server.url}/device`)).text();
      pages.push({ browser, xsrf: /name="xsrf" value="([^"]+)"/.exec(page)?.[1] ?? '' });
    }
    const statuses = await Promise.all(
      pages.map(async ({ browser, xsrf }, i) => {
        const res = await browser.postForm(`${server.url}/device`, {
          xsrf,
          user_code: `BCDF-GH${'JKLMNPQRSTVWXZBCDFGH'[i]}K`,
        });
        await res.text();
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(3);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20 - statuses.filter((s) => s === 200).length);
  });
});
