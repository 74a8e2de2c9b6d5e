// No raw secret at rest or in logs: after codes, access and refresh tokens, sessions, client secrets and passwords
// have all passed through the server, neither the database, nor the short-lived store, nor the log holds any of them.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { listRedisKeys, redisUrl } from '../support/postgres.js';
import {
  authorize,
  createTestClient,
  createUser,
  exchangeCode,
  refresh,
  tokenRequest,
  introspect,
} from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';
import { Redis } from 'ioredis';

/** Every row of every table, as JSON text. */
async function dumpDatabase(server: TestServer): Promise<string> {
  const tables = await server.db.sql.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
  );
  const parts = await Promise.all(
    tables.map(({ tablename }) =>
      server.db.sql.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM "${tablename}" t`),
    ),
  );
  return parts
    .flat()
    .map((r) => r.row)
    .join('\n');
}

/** Every key and value under the server's Redis prefix. */
async function dumpRedis(server: TestServer): Promise<string> {
  const prefix = server.config.redisKeyPrefix;
  const keys = await listRedisKeys(prefix);
  const redis = new Redis(redisUrl());
  try {
    const out: string[] = [];
    for (const key of keys) {
      const type = await redis.type(key);
      const value =
        type === 'set' ? (await redis.smembers(key)).join(' ') : type === 'string' ? await redis.get(key) : type;
      out.push(`${key} ${value}`);
    }
    return out.join('\n');
  } finally {
    redis.disconnect();
  }
}

describe.each(MODES)('hashed storage (%s storage)', (mode) => {
  let server: TestServer;
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    server = await startServer(mode);
    const user = await createUser(server);
    const client = await createTestClient(server);
    const machine = await createTestClient(server, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'admin',
    });
    const { code, verifier, browser } = await authorize(server, client, user);
    const tokens = (await exchangeCode(server, client, code, verifier)).body;
    const rotated = (await refresh(server, client, tokens.refresh_token as string)).body;
    const machineToken = (await tokenRequest(server, machine, { grant_type: 'client_credentials', scope: 'admin' }))
      .body;
    await introspect(server, client, rotated.access_token as string);
    Object.assign(secrets, {
      password: user.password,
      clientSecret: client.client_secret!,
      machineSecret: machine.client_secret!,
      code,
      verifier,
      accessToken: tokens.access_token as string,
      refreshToken: tokens.refresh_token as string,
      rotatedAccessToken: rotated.access_token as string,
      rotatedRefreshToken: rotated.refresh_token as string,
      clientCredentialsToken: machineToken.access_token as string,
    });
    for (const [name, cookie] of browser.cookies) if (!name.endsWith('.sig')) secrets[`cookie ${name}`] = cookie.value;
    expect(Object.values(secrets).every((v) => typeof v === 'string' && v.length >= 16)).toBe(true);
  });
  afterAll(() => server?.stop());

  it('keeps no raw token, code, secret or password in the database', async () => {
    const dump = await dumpDatabase(server);
    expect(dump).toContain('"payload"'); // the dump is real: it holds the stored grants and tokens
    for (const [name, value] of Object.entries(secrets))
      expect({ name, found: dump.includes(value) }).toEqual({ name, found: false });
  });

  if (mode === 'external')
    it('keeps no raw token, code or session id in Redis', async () => {
      const dump = await dumpRedis(server);
      expect(dump).toContain(':oidc:AccessToken:'); // the dump is real: it holds the short-lived artifacts
      for (const [name, value] of Object.entries(secrets))
        expect({ name, found: dump.includes(value) }).toEqual({ name, found: false });
    });

  it('writes none of them to the log', async () => {
    const log = server.logs.join('');
    expect(log).toContain('"msg":"request"'); // the log is real: requests were logged
    for (const [name, value] of Object.entries(secrets))
      expect({ name, found: log.includes(value) }).toEqual({ name, found: false });
  });
});
