// Rate limits hold across instances: every limit answers 429 with Retry-After whichever instance is asked.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { Browser, parseForm, pkce } from '../support/browser.js';
import { authorizationUrl, createTestClient, createUser, tokenRequest, type JsonResponse } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';
import type { ClientView } from '../../src/clients/clients.js';

async function pair(env: Record<string, string>): Promise<[TestServer, TestServer]> {
  const a = await startServer('external', { RATE_LIMIT_ENABLED: 'true', ...env });
  return [a, await a.sibling()];
}

const expectLimited = (res: JsonResponse) => {
  expect(res.status).toBe(429);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(res.body).toEqual({ error: 'slow_down', error_description: expect.stringMatching(/too many requests/) });
};

describe('token endpoint limits across two instances', () => {
  let a: TestServer;
  let b: TestServer;
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('stops guessing (failures per IP) while legitimate volume passes', async () => {
    [a, b] = await pair({
      RATE_LIMIT_FAILURES: '5',
      RATE_LIMIT_REQUESTS_PER_MINUTE: '500',
      RATE_LIMIT_CLIENT_REQUESTS_PER_MINUTE: '500',
    });
    const machine = await createTestClient(a, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'admin',
    });
    for (let i = 0; i < 40; i++) {
      expect(
        (await tokenRequest(i % 2 ? b : a, machine, { grant_type: 'client_credentials', scope: 'admin' })).status,
      ).toBe(200);
    }
    const guess = { client_id: machine.client_id, client_secret: 'guess' };
    for (let i = 0; i < 5; i++)
      expect((await tokenRequest(i % 2 ? b : a, guess, { grant_type: 'client_credentials' })).status).toBe(401);
    expectLimited(await tokenRequest(a, guess, { grant_type: 'client_credentials' }));
    expectLimited(await tokenRequest(b, machine, { grant_type: 'client_credentials', scope: 'admin' }));
    expectLimited(await tokenRequest(b, machine, { grant_type: 'refresh_token', refresh_token: 'x'.repeat(43) }));
  });
});

describe('volume limits across two instances', () => {
  let a: TestServer;
  let b: TestServer;
  let one: ClientView;
  let two: ClientView;
  beforeAll(async () => {
    [a, b] = await pair({ RATE_LIMIT_REQUESTS_PER_MINUTE: '30', RATE_LIMIT_CLIENT_REQUESTS_PER_MINUTE: '10' });
    one = await createTestClient(a, { grantTypes: ['client_credentials'], redirectUris: [], scopes: 'admin' });
    two = await createTestClient(a, { grantTypes: ['client_credentials'], redirectUris: [], scopes: 'admin' });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('limits each authenticated client, then the address', async () => {
    for (let i = 0; i < 10; i++)
      expect((await tokenRequest(i % 2 ? b : a, one, { grant_type: 'client_credentials' })).status).toBe(200);
    expectLimited(await tokenRequest(a, one, { grant_type: 'client_credentials' }));
    // Another client is not held back by the first one's budget...
    for (let i = 0; i < 10; i++)
      expect((await tokenRequest(i % 2 ? a : b, two, { grant_type: 'client_credentials' })).status).toBe(200);
    // ...and naming a limited client without its secret does not spend anyone's budget but the address's.
    const rest: number[] = [];
    for (let i = 0; i < 12; i++)
      rest.push(
        (
          await tokenRequest(
            i % 2 ? a : b,
            { client_id: 'nobody', client_secret: 'x' },
            { grant_type: 'client_credentials' },
          )
        ).status,
      );
    expect(rest.includes(429)).toBe(true); // 30 per minute per address across both instances
  });
});

describe('login limits across two instances', () => {
  let a: TestServer;
  let b: TestServer;
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('refuses a username after repeated failures, even with the right password, and says when to retry', async () => {
    [a, b] = await pair({ LOGIN_FAILURES_PER_USERNAME: '3', LOGIN_FAILURES_PER_IP: '100' });
    const victim = await createUser(a);
    const bystander = await createUser(a);
    const client = await createTestClient(a);
    const loginPage = async (server: TestServer) => {
      const browser = new Browser(server.url);
      const start = await browser.follow(await browser.get(authorizationUrl(server, client, pkce().challenge)));
      return { browser, action: parseForm(await start.res.text()).action! };
    };
    for (const server of [a, b, a]) {
      const { browser, action } = await loginPage(server);
      expect((await browser.postForm(action, { username: victim.username, password: 'wrong' })).status).toBe(200);
    }
    const { browser, action } = await loginPage(b);
    const blocked = await browser.postForm(action, { username: victim.username, password: victim.password });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await blocked.text()).toMatch(/Too many failed sign-in attempts\. Try again in \d+ seconds\./);
    const other = await loginPage(a);
    const ok = await other.browser.postForm(other.action, {
      username: bystander.username,
      password: bystander.password,
    });
    expect(ok.status).toBe(303);
  });
});

describe('login limit per address across two instances', () => {
  let a: TestServer;
  let b: TestServer;
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('refuses an address after repeated failures, whatever usernames it tries', async () => {
    [a, b] = await pair({ LOGIN_FAILURES_PER_USERNAME: '100', LOGIN_FAILURES_PER_IP: '3' });
    const client = await createTestClient(a);
    const user = await createUser(a);
    const attempt = async (server: TestServer, username: string, password: string) => {
      const browser = new Browser(server.url);
      const start = await browser.follow(await browser.get(authorizationUrl(server, client, pkce().challenge)));
      return browser.postForm(parseForm(await start.res.text()).action!, { username, password });
    };
    for (const [server, name] of [
      [a, 'guess-1'],
      [b, 'guess-2'],
      [a, 'guess-3'],
    ] as const) {
      expect((await attempt(server, name, 'wrong')).status).toBe(200);
    }
    const blocked = await attempt(b, user.username, user.password);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe('RATE_LIMIT_ENABLED=false', () => {
  let server: TestServer;
  afterAll(() => server?.stop());
  it('never answers 429', async () => {
    server = await startServer('external', { RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_FAILURES: '1' });
    for (let i = 0; i < 10; i++) {
      expect(
        (await tokenRequest(server, { client_id: 'x', client_secret: 'y' }, { grant_type: 'client_credentials' }))
          .status,
      ).toBe(401);
    }
  });
});
