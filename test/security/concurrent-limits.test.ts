// Limits that hold under concurrency: every sign-in attempt and every client authentication takes its place in its
// windows before the work is done, atomically, so a burst of parallel requests gets no more evaluated than the
// limit. And the username limit is no lockout lever: its owner, from elsewhere, still gets in.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { Browser, parseForm, pkce } from '../support/browser.js';
import { authorizationUrl, createTestClient, createUser, postAsClient, type User } from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';
import { inHashingSlot } from '../../src/accounts/passwords.js';
import type { ClientView } from '../../src/clients/clients.js';

const LIMIT = 5;
const FAILURES = 20;

describe.each(MODES)('limits under concurrency (%s storage)', (mode) => {
  let server: TestServer;
  let client: ClientView;
  beforeAll(async () => {
    server = await startServer(mode, {
      RATE_LIMIT_ENABLED: 'true',
      TRUST_PROXY: 'true',
      LOGIN_FAILURES_PER_USERNAME: String(LIMIT),
      LOGIN_FAILURES_PER_IP: '100',
      LOGIN_FAILURES_PER_USERNAME_TOTAL: '12',
      RATE_LIMIT_FAILURES: String(FAILURES),
    });
    client = await createTestClient(server);
  }); // an embedded boot on a loaded two-core machine
  afterAll(() => server?.stop());

  /** A login page opened from `address`: posting to it signs in from that address. */
  async function loginFrom(address: string, browser = new Browser(server.url)) {
    const start = await browser.follow(await browser.get(authorizationUrl(server, client, pkce().challenge)));
    const action = new URL(parseForm(await start.res.text()).action!, server.url).toString();
    return async (username: string, password: string) => {
      const res = await browser.postForm(action, { username, password }, { headers: { 'x-forwarded-for': address } });
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        text: res.status === 303 ? '' : await res.text(),
      };
    };
  }

  async function failedLogins(username: string) {
    const rows = await server.db.prisma.auditEvent.findMany({ where: { type: 'login.failed' } });
    return rows.filter((r) => (r.detail as { username?: string }).username === username).length;
  }

  it('checks at most the limit of 40 parallel wrong sign-ins at one username; the right password after them does not get in', async () => {
    const victim: User = await createUser(server);
    const attacker = '198.51.100.7';
    const burst = await loginFrom(attacker);
    const late = await loginFrom(attacker);
    let windowFull!: () => void;
    const full = new Promise<void>((resolve) => (windowFull = resolve));
    const attempts = Array.from({ length: 40 }, async () => {
      const res = await burst(victim.username, 'wrong-password');
      if (res.status === 429 && /Too many failed sign-in attempts/.test(res.text)) windowFull();
      return res;
    });
    await full; // the window is full while the burst is still going on
    const right = await late(victim.username, victim.password);
    const results = await Promise.all(attempts);

    expect(right.status).toBe(429);
    expect(Number(right.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(right.text).toMatch(/Too many failed sign-in attempts\. Try again in \d+ seconds\./);
    const checked = results.filter((r) => r.status === 200);
    expect(checked.length).toBeGreaterThanOrEqual(1);
    expect(checked.length).toBeLessThanOrEqual(LIMIT);
    for (const r of results.filter((x) => x.status !== 200)) {
      expect([429, 503]).toContain(r.status);
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    expect(await failedLogins(victim.username)).toBe(checked.length);
    expect(await failedLogins(victim.username)).toBeLessThanOrEqual(LIMIT);

    // The owner, from another address, signs in while the attacker is throttled...
    const owner = new Browser(server.url);
    expect((await (await loginFrom('203.0.113.50', owner))(victim.username, victim.password)).status).toBe(303);
    expect((await (await loginFrom(attacker))(victim.username, victim.password)).status).toBe(429);

    // ...and still does once distributed guessing has filled the username's ceiling (12 across all addresses):
    // a browser that signed in as this user before does not count against it; a new one does.
    for (let i = 0; i < 3; i++) {
      const from = await loginFrom(`192.0.2.${10 + i}`);
      for (let j = 0; j < 4; j++) await from(victim.username, 'wrong-password');
    }
    const stranger = await (await loginFrom('192.0.2.99'))(victim.username, victim.password);
    expect(stranger.status).toBe(429);
    expect((await (await loginFrom('203.0.113.50', owner))(victim.username, victim.password)).status).toBe(303);
    expect((await (await loginFrom('203.0.113.51', owner))(victim.username, victim.password)).status).toBe(303); // the owner's browser, on another network
  });

  it('gives 60 parallel bad client authentications at most RATE_LIMIT_FAILURES 401s, and the rest 429', async () => {
    const machine = await createTestClient(server, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'admin',
    });
    const wrong = { client_id: machine.client_id, client_secret: 'not-the-secret' };
    const paths = ['/token', '/token/introspection', '/token/revocation'];
    const params: Record<string, string>[] = [
      { grant_type: 'client_credentials' },
      { token: 'x'.repeat(43) },
      { token: 'x'.repeat(43) },
    ];
    const guessing = { 'x-forwarded-for': '198.51.100.66' };
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => postAsClient(server, paths[i % 3]!, wrong, params[i % 3]!, guessing)),
    );
    const unauthorized = results.filter((r) => r.status === 401);
    expect(unauthorized.length).toBeGreaterThanOrEqual(1);
    expect(unauthorized.length).toBeLessThanOrEqual(FAILURES);
    for (const r of unauthorized) expect(r.body.error).toBe('invalid_client');
    const limited = results.filter((r) => r.status === 429);
    expect(limited).toHaveLength(60 - unauthorized.length);
    for (const r of limited) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.body).toEqual({ error: 'slow_down', error_description: expect.stringMatching(/too many requests/) });
    }
    // The right secret from the guessing address is refused too; from another address it works.
    expect((await postAsClient(server, '/token', machine, { grant_type: 'client_credentials' }, guessing)).status).toBe(
      429,
    );
    expect(
      (
        await postAsClient(
          server,
          '/token',
          machine,
          { grant_type: 'client_credentials' },
          { 'x-forwarded-for': '203.0.113.80' },
        )
      ).status,
    ).toBe(200);
  });

  it('lets legitimate parallel requests pass without spending the failure budget', async () => {
    const machine = await createTestClient(server, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'admin',
    });
    const from = { 'x-forwarded-for': '203.0.113.90' };
    for (let round = 0; round < 3; round++) {
      const ok = await Promise.all(
        Array.from({ length: 10 }, () =>
          postAsClient(server, '/token', machine, { grant_type: 'client_credentials' }, from),
        ),
      );
      expect(ok.map((r) => r.status)).toEqual(Array(10).fill(200));
    }
  });
});

describe.each(MODES)('bounded password hashing (%s storage)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(mode, { LOGIN_HASH_QUEUE_MAX: '0' }); // two hashing, none waiting; rate limits off
  }); // an embedded boot on a loaded two-core machine
  afterAll(() => server?.stop());

  it('answers 503 with Retry-After and a page, instead of queueing without end', async () => {
    const client = await createTestClient(server);
    const user = await createUser(server);
    const browser = new Browser(server.url);
    const start = await browser.follow(await browser.get(authorizationUrl(server, client, pkce().challenge)));
    const action = new URL(parseForm(await start.res.text()).action!, server.url).toString();
    // Both hashing slots held (by the server's own limiter, in this process): the first two sign-ins are admitted and
    // wait for a slot, so every later one finds the gate full, whatever the machine's speed.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holders = [inHashingSlot(() => held), inHashingSlot(() => held)];
    let answered = 0;
    const pending = Array.from({ length: 30 }, async () => {
      const res = await browser.postForm(action, { username: user.username, password: 'wrong-password' });
      answered += 1;
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        type: res.headers.get('content-type'),
        text: await res.text(),
      };
    });
    for (let waited = 0; answered < 28 && waited < 30_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    expect(answered).toBe(28); // the two admitted still wait for a slot
    release();
    await Promise.all(holders);
    const results = await Promise.all(pending);
    const busy = results.filter((r) => r.status === 503);
    expect(busy).toHaveLength(28);
    expect(results.filter((r) => r.status === 200)).toHaveLength(2); // the two admitted, checked once the slots free
    expect(results.every((r) => r.status === 200 || r.status === 503)).toBe(true);
    for (const r of busy) {
      expect(r.retryAfter).toBe('1');
      expect(r.type).toMatch(/^text\/html/);
      expect(r.text).toContain('The server is busy with other sign-ins. Try again in a second.');
      expect(parseForm(r.text).inputs).toEqual(expect.arrayContaining(['username', 'password']));
    }
    // Once the burst is over, the queue is empty again.
    expect((await browser.postForm(action, { username: user.username, password: user.password })).status).toBe(303);
  });
});
