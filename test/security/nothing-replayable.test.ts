// Nothing replayable at rest: after a sign-in, no value a browser or client holds as a credential (every cookie,
// the authorization code, every token, a pushed request's request_uri) appears in PostgreSQL (pg_dump, or every row
// of every table when embedded) or in the short-lived store (every Redis key and value under the server's prefix,
// or the in-process store's contents): not as a key, not inside a payload.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';

import { Browser, parseForm, pkce } from '../support/browser.js';
import { authorizationUrl, createTestClient, createUser, exchangeCode, refresh, type User } from '../support/oauth.js';
import { redisUrl } from '../support/postgres.js';
import { MODES, startServer, type TestServer } from '../support/server.js';
import type { ClientView } from '../../src/clients/clients.js';

const run = promisify(execFile);

/** The durable database as text: pg_dump for PostgreSQL, every row of every table for PGlite. */
async function dumpDatabase(server: TestServer): Promise<string> {
  if (server.mode === 'external') {
    const { stdout } = await run('pg_dump', ['--data-only', '--inserts', server.env.DATABASE_URL!], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  }
  const tables = await server.db.sql.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
  );
  const parts = await Promise.all(
    tables.map(({ tablename }) => server.db.sql.query<{ row: string }>(`SELECT t::text AS row FROM "${tablename}" t`)),
  );
  return parts
    .flat()
    .map((r) => r.row)
    .join('\n');
}

/** The short-lived store as text: a SCAN of every Redis key under the prefix with its value, or the in-process store's entries. */
async function dumpStore(server: TestServer): Promise<string> {
  if (server.mode === 'embedded') return (await server.store.entries()).map(([k, v]) => `${k} ${v}`).join('\n');
  const redis = new Redis(redisUrl());
  try {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${server.config.redisKeyPrefix}*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        const value =
          type === 'string'
            ? await redis.get(key)
            : type === 'set'
              ? (await redis.smembers(key)).join(' ')
              : type === 'hash'
                ? JSON.stringify(await redis.hgetall(key))
                : type;
        out.push(`${key} ${value}`);
      }
    } while (cursor !== '0');
    return out.join('\n');
  } finally {
    redis.disconnect();
  }
}

describe.each(MODES)('nothing replayable at rest (%s storage)', (mode) => {
  let server: TestServer;
  let user: User;
  let client: ClientView;
  beforeAll(async () => {
    server = await startServer(mode, { RATE_LIMIT_ENABLED: 'true' });
    user = await createUser(server);
    client = await createTestClient(server);
  }); // an embedded boot on a loaded two-core machine
  afterAll(() => server?.stop());

  async function expectAbsent(values: Record<string, string>, what: string) {
    const [database, store] = await Promise.all([dumpDatabase(server), dumpStore(server)]);
    expect(database).toContain('$argon2id$'); // the dumps are real
    expect(store).toMatch(/oidc:/);
    for (const [name, value] of Object.entries(values)) {
      expect(value.length).toBeGreaterThanOrEqual(16);
      expect({ what, name, inDatabase: database.includes(value), inStore: store.includes(value) }).toEqual({
        what,
        name,
        inDatabase: false,
        inStore: false,
      });
    }
  }

  const cookiesOf = (browser: Browser) =>
    Object.fromEntries([...browser.cookies].map(([name, c]) => [`cookie ${name}`, c.value]));

  it('after a sign-in: no cookie value, code or token in the database or the store', async () => {
    const browser = new Browser(server.url);
    const { verifier, challenge } = pkce();
    const start = await browser.follow(await browser.get(authorizationUrl(server, client, challenge)));
    const login = parseForm(await start.res.text());
    const consent = await browser.follow(
      await browser.postForm(new URL(login.action!, start.url).toString(), {
        username: user.username,
        password: user.password,
      }),
    );
    expect(consent.res.status).toBe(200);
    const consentForm = parseForm(await consent.res.text());
    // Signed in, at the consent page: the interaction in the store knows the browser's session.
    expect(Object.keys(cookiesOf(browser)).length).toBeGreaterThanOrEqual(3);
    await expectAbsent(cookiesOf(browser), 'at consent');

    const done = await browser.follow(
      await browser.postForm(new URL(consentForm.action!, consent.url).toString(), { decision: 'allow' }),
    );
    const code = new URL(done.url).searchParams.get('code')!;
    const tokens = (await exchangeCode(server, client, code, verifier)).body as Record<string, string>;
    const rotated = (await refresh(server, client, tokens.refresh_token!)).body as Record<string, string>;
    await expectAbsent(
      {
        ...cookiesOf(browser),
        code,
        verifier,
        access_token: tokens.access_token!,
        refresh_token: tokens.refresh_token!,
        id_token: tokens.id_token!,
        rotated_access_token: rotated.access_token!,
        rotated_refresh_token: rotated.refresh_token!,
      },
      'after the code exchange and a refresh',
    );

    // Signed in already: a second authorization goes through a new interaction bound to the same session.
    const again = await browser.follow(await browser.get(authorizationUrl(server, client, pkce().challenge)));
    expect(again.res.status).toBe(200);
    await expectAbsent(cookiesOf(browser), 'second interaction');
  });

  it("a pushed request's request_uri is not kept raw, in its own record or in the interaction using it", async () => {
    const pushed = await fetch(`${server.url}/request`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        client_id: client.client_id,
        response_type: 'code',
        redirect_uri: client.redirect_uris[0]!,
        scope: 'openid',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      }),
    });
    expect(pushed.status).toBe(201);
    const { request_uri: requestUri } = (await pushed.json()) as { request_uri: string };
    const id = requestUri.split(':').pop()!;
    const browser = new Browser(server.url);
    const page = await browser.follow(
      await browser.get(
        `${server.url}/auth?${new URLSearchParams({ client_id: client.client_id, request_uri: requestUri })}`,
      ),
    );
    expect(parseForm(await page.res.text()).inputs).toEqual(expect.arrayContaining(['username', 'password']));
    await expectAbsent({ request_uri: id, ...cookiesOf(browser) }, 'PAR at the login page');
  });
});
