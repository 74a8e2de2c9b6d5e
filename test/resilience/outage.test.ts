// A database or store that stops answering gives 503 with a JSON error, quickly; /readyz says so; nothing is
// consumed without its successor; when the dependency returns, the same requests succeed.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';

import { createTestClient, createUser, obtainTokens, refresh, type Tokens, type User } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';
import type { ClientView } from '../../src/clients/clients.js';

const admin = async (sql: string) => {
  const client = new pg.Client({
    connectionString: process.env.TEST_PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
};

const METRICS_TOKEN = 'outage-metrics-token-0123456789';

/** The sum of every sample of `name` whose labels include all of `labels` (e.g. 'status="503"'). */
async function scrape(server: TestServer, name: string, ...labels: string[]): Promise<number> {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  return (await res.text())
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && labels.every((l) => line.includes(l)))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

const timed = async <T>(fn: () => Promise<T>) => {
  const started = Date.now();
  const result = await fn();
  return { result, ms: Date.now() - started };
};

describe('PostgreSQL unavailable', () => {
  let server: TestServer;
  let user: User;
  let client: ClientView;
  let dbName: string;

  beforeAll(async () => {
    server = await startServer('external', {
      DB_CONNECT_TIMEOUT_MS: '1000',
      DB_STATEMENT_TIMEOUT_MS: '2000',
      METRICS_TOKEN,
    });
    dbName = new URL(server.config.databaseUrl!).pathname.slice(1);
    user = await createUser(server);
    client = await createTestClient(server);
  });
  afterAll(async () => {
    await admin(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`).catch(() => {});
    await server?.stop();
  });

  it('answers 503 quickly while the database refuses connections, then recovers with nothing lost', async () => {
    const tokens: Tokens = await obtainTokens(server, client, user);
    await admin(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS false`);
    await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${dbName}'`);

    const { result: down, ms } = await timed(() => refresh(server, client, tokens.refresh_token));
    if (down.status !== 503) console.log(server.logs.filter((l) => l.includes('"level":50')).join('\n'));
    expect(down.status).toBe(503);
    expect(down.body).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'a backing service is unavailable, retry shortly',
    });
    expect(ms).toBeLessThan(10_000); // bounded by the connect timeout, not hanging
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'unavailable', checks: { database: 'unavailable', store: 'ok' } });
    // Telemetry sees the outage: the 503 under its own status, and refused connections under the database.
    expect(await scrape(server, 'tollgate_http_request_duration_seconds_count', 'route="token"', 'status="503"')).toBe(
      1,
    );
    expect(
      await scrape(server, 'tollgate_http_request_duration_seconds_count', 'route="/readyz"', 'status="503"'),
    ).toBe(1);
    // At least the readiness probe's connection is refused. The refresh may instead meet a pooled connection whose
    // backend was just terminated (the pool had not yet noticed): that one counts as lost.
    expect(
      await scrape(server, 'tollgate_dependency_errors_total', 'dependency="database"', 'reason="connection_refused"'),
    ).toBeGreaterThanOrEqual(1);
    expect(await scrape(server, 'tollgate_dependency_errors_total', 'dependency="database"')).toBeGreaterThanOrEqual(2);
    expect(await scrape(server, 'tollgate_dependency_errors_total', 'dependency="store"')).toBe(0);

    await admin(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const up = await refresh(server, client, tokens.refresh_token); // the token was not consumed while down
    expect(up.status).toBe(200);
    expect(up.body.refresh_token).toEqual(expect.any(String));
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('Ready to accept connections')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
}

describe('Redis unavailable', () => {
  let redis: ChildProcess | undefined;
  let server: TestServer;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    server = await startServer('external', {
      REDIS_URL: `redis://127.0.0.1:${port}`,
      STORE_COMMAND_TIMEOUT_MS: '500',
      METRICS_TOKEN,
    });
  });
  afterAll(async () => {
    await server?.stop().catch(() => {});
    redis?.kill('SIGKILL');
  });

  it('answers 503 quickly while Redis is down, then recovers when it returns', async () => {
    const user = await createUser(server);
    const client = await createTestClient(server);
    const tokens = await obtainTokens(server, client, user);
    redis!.kill('SIGKILL');
    await new Promise((r) => redis!.once('exit', r));

    // Introspecting an opaque access token needs the store.
    const { result: down, ms } = await timed(() =>
      fetch(`${server.url}/token/introspection`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ token: tokens.access_token }),
      }),
    );
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'a backing service is unavailable, retry shortly',
    });
    expect(ms).toBeLessThan(10_000);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    const token = await refresh(server, client, tokens.refresh_token);
    expect(token.status).toBe(503);
    // Telemetry sees the outage: each 503 under status 503 (not 404), and the store's errors counted.
    expect(
      await scrape(server, 'tollgate_http_request_duration_seconds_count', 'route="introspection"', 'status="503"'),
    ).toBe(1);
    expect(await scrape(server, 'tollgate_http_request_duration_seconds_count', 'route="token"', 'status="503"')).toBe(
      1,
    );
    expect(await scrape(server, 'tollgate_http_request_duration_seconds_count', 'status="404"')).toBe(0);
    expect(await scrape(server, 'tollgate_dependency_errors_total', 'dependency="store"')).toBeGreaterThanOrEqual(3);
    expect(await scrape(server, 'tollgate_dependency_errors_total', 'dependency="database"')).toBe(0);

    redis = await startRedis(port);
    let ready = 0;
    for (let i = 0; i < 50 && ready !== 200; i++) {
      ready = (await fetch(`${server.url}/readyz`)).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(ready).toBe(200);
    // The refresh token is durable: it survived the store's loss and still rotates.
    const after = await refresh(server, client, tokens.refresh_token);
    expect(after.status).toBe(200);
  });
});
