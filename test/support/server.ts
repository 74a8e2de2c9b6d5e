// Boots real Tollgate servers for HTTP tests, in either storage mode:
//   external: a fresh PostgreSQL database and a private Redis key prefix (the real services of these machines);
//   embedded: PGlite under a temporary DATA_DIR and the in-process store (the `npm start` default).
// Both start migrated, copied from a template built once per worker (./migrated-template.ts, ./pglite-template.ts).
// Each server gets its own secret, and its log lines are kept so tests can assert what was (not) logged.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { boot, type Running } from '../../src/boot.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { migratedTemplate } from './migrated-template.js';
import { seedPglite } from './pglite-template.js';
import { createTestDatabase, deleteRedisKeys, redisUrl, uniquePrefix, type TestDatabase } from './postgres.js';

export type Mode = 'external' | 'embedded';
export const MODES: Mode[] = ['external', 'embedded'];

export interface TestServer extends Running {
  config: Config;
  mode: Mode;
  logs: string[];
  /** Environment for another process (the CLI, a second instance) sharing this server's storage and secret. */
  env: Record<string, string>;
  /** Boots another instance on the same storage (external mode only). */
  sibling(overrides?: Record<string, string>): Promise<TestServer>;
  stop(): Promise<void>;
}

export interface Storage {
  mode: Mode;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** Fresh storage: a database and Redis prefix, or a DATA_DIR, plus a random secret. */
export async function createStorage(mode: Mode): Promise<Storage> {
  const secret = `test-secret-${Math.random().toString(36).slice(2)}-${Date.now()}-padding-padding`;
  if (mode === 'external') {
    const db: TestDatabase = await createTestDatabase('tg_test', await migratedTemplate());
    const prefix = uniquePrefix();
    return {
      mode,
      env: { DATABASE_URL: db.url, REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix, TOLLGATE_SECRET: secret },
      async cleanup() {
        await deleteRedisKeys(prefix);
        await db.drop();
      },
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'tg-'));
  await seedPglite(dir);
  return { mode, env: { DATA_DIR: dir }, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

async function bootOn(storage: Storage, overrides: Record<string, string>): Promise<TestServer> {
  const env = {
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'info',
    RATE_LIMIT_ENABLED: 'false',
    ...storage.env,
    ...overrides,
  };
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  // The issuer must name the port, which is known only after listening: boot on a fixed free port instead.
  const port = env.PORT === '0' ? String(await freePort()) : env.PORT;
  const config = loadConfig({ ...env, PORT: port });
  const running = await boot(config, createLogger({ level: config.logLevel }, sink));
  return {
    ...running,
    config,
    mode: storage.mode,
    logs,
    env: { ...storage.env },
    sibling: (more = {}) => bootOn(storage, { ...overrides, ...more, PORT: '0' }),
    stop: () => running.close(),
  };
}

/** Boots a server on fresh storage; stop() also removes the storage. */
export async function startServer(mode: Mode, overrides: Record<string, string> = {}): Promise<TestServer> {
  const storage = await createStorage(mode);
  const server = await bootOn(storage, overrides);
  return {
    ...server,
    async stop() {
      await server.stop();
      await storage.cleanup();
    },
  };
}

/** Boots a server on given storage (to restart, or to run a second instance); stop() leaves the storage. */
export const startOn = bootOn;

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
