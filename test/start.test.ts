// The `npm start` contract (README, "Run it" and "Configure it"), over a real child process: an empty DATA_DIR and
// no DATABASE_URL/REDIS_URL is enough to serve discovery, health and JWKS; SIGTERM exits cleanly; a restart keeps
// the signing key; configuration problems stop the start with every problem named.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { runEntry, startServerProcess, stopAllProcesses, type ServerProcess } from './support/process.js';

const getJson = async (url: string) => {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  const text = await res.text();
  let body: Record<string, unknown> | undefined;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
};

const kids = async (url: string) => {
  const { status, body } = await getJson(`${url}/jwks`);
  expect(status).toBe(200);
  const keys = (body as { keys: Record<string, unknown>[] }).keys;
  for (const key of keys) for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(priv);
  return keys.map((k) => k.kid);
};

describe('npm start on an empty DATA_DIR (embedded defaults)', () => {
  let base: string;
  let dataDir: string;
  let server: ServerProcess | undefined;
  let firstKids: unknown[] = [];

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'tg-start-'));
    dataDir = join(base, 'data'); // does not exist yet: the server must create it
  });
  afterAll(async () => {
    await server?.stop(5_000).catch(() => undefined);
    await stopAllProcesses();
    await rm(base, { recursive: true, force: true });
  });

  it('serves discovery, health and JWKS within 30 s of spawn', async () => {
    const started = Date.now();
    server = await startServerProcess({ DATA_DIR: dataDir });
    const port = server.port;
    const issuer = `http://localhost:${port}`;
    expect(server.url).toBe(issuer);

    const oidc = await getJson(`${issuer}/.well-known/openid-configuration`);
    expect(oidc.status).toBe(200);
    expect(oidc.body).toMatchObject({ issuer, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks` });

    const rfc8414 = await getJson(`${issuer}/.well-known/oauth-authorization-server`);
    expect(rfc8414.status).toBe(200);
    expect(rfc8414.body).toMatchObject({ issuer, token_endpoint: oidc.body!.token_endpoint });

    const health = await fetch(`${issuer}/healthz`);
    expect(health.status).toBe(200);
    const ready = await getJson(`${issuer}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('content-type')).toMatch(/^application\/json/);
    expect(ready.body).toMatchObject({ status: 'ready' });

    firstKids = await kids(issuer);
    expect(firstKids).toEqual([expect.any(String), expect.any(String)]);

    const elapsed = Date.now() - started;
    console.log(`npm start on an empty DATA_DIR: serving discovery, health and JWKS ${elapsed} ms after spawn`);
    expect(elapsed).toBeLessThan(30_000);
    expect(await readdir(dataDir)).toEqual(expect.arrayContaining(['pglite', 'secret']));
  });

  it('exits with code 0 on SIGTERM and releases DATA_DIR', async () => {
    expect(server).toBeDefined();
    const exit = await server!.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(server!.logs.some((line) => line.includes('"shutting down"'))).toBe(true);
    // The lock and the socket are gone, so the next start (or a CLI) can open the database.
    const left = await readdir(dataDir);
    expect(left).not.toContain('pglite.lock');
    expect(left).not.toContain('.s.PGSQL.5432');
  });

  it('keeps the signing keys (ES256 and RS256) across a restart on the same DATA_DIR', async () => {
    expect(firstKids).toHaveLength(2);
    server = await startServerProcess({ DATA_DIR: dataDir });
    expect(await kids(server.url)).toEqual(firstKids);
    expect(await server.stop()).toEqual({ code: 0, signal: null });
  });
});

describe('npm start refuses a bad configuration', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tg-start-bad-'));
  });
  afterAll(async () => {
    await stopAllProcesses();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses NODE_ENV=production without TOLLGATE_SECRET, naming it', async () => {
    const res = await runEntry('src/main.ts', [], {
      env: { NODE_ENV: 'production', DATA_DIR: dataDir, PORT: '0' },
      timeoutMs: 30_000,
    });
    expect(res.code).not.toBe(0);
    expect(res.code).not.toBeNull();
    expect(res.stderr).toContain('TOLLGATE_SECRET');
    expect(res.stdout).not.toContain('tollgate listening');
    // Refused before touching storage: no generated secret, no database.
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('names every bad variable in one error (PORT=abc and ACCESS_TOKEN_TTL_SECONDS=-5)', async () => {
    const res = await runEntry('src/main.ts', [], {
      env: { PORT: 'abc', ACCESS_TOKEN_TTL_SECONDS: '-5', DATA_DIR: dataDir },
      timeoutMs: 30_000,
    });
    expect(res.code).not.toBe(0);
    expect(res.code).not.toBeNull();
    expect(res.stderr).toContain('PORT');
    expect(res.stderr).toContain('ACCESS_TOKEN_TTL_SECONDS');
    expect(res.stdout).not.toContain('tollgate listening');
  });
});
