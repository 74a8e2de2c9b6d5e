// Test fixtures for the real services every machine runs (README, "Test it"): PostgreSQL and Redis.
// Tests never assume an empty shared database or keyspace: each gets its own PostgreSQL database and its own Redis
// key prefix, and removes them when done, so test files can run in parallel and on a developer's machine.
import { randomBytes } from 'node:crypto';

import { Redis } from 'ioredis';
import pg from 'pg';

/** A superuser connection to the maintenance database, used only to create and drop test databases. */
const adminUrl = () => process.env.TEST_PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export const redisUrl = () => process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A Redis key prefix no other test run shares, e.g. `tg_test:3f9a0c1e2b7d:`. */
export const uniquePrefix = () => `tg_test:${randomBytes(6).toString('hex')}:`;

export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  /** Terminates every connection to the database and drops it. */
  drop(): Promise<void>;
}

/**
 * Creates a fresh database named `<prefix>_<random>` (tg_test by default) and returns its URL: empty, or a copy of
 * `template` (CREATE DATABASE ... TEMPLATE; nothing may be connected to the template meanwhile).
 */
export async function createTestDatabase(prefix = 'tg_test', template?: string): Promise<TestDatabase> {
  if (!/^[a-z_]+$/.test(prefix)) throw new Error(`bad database prefix ${prefix}`);
  if (template !== undefined && !/^[a-z0-9_]+$/.test(template)) throw new Error(`bad template ${template}`);
  const name = `${prefix}_${randomBytes(6).toString('hex')}`; // [a-z0-9_] only: safe to quote as an identifier
  await withAdmin((admin) =>
    admin.query(`CREATE DATABASE "${name}"${template === undefined ? '' : ` TEMPLATE "${template}"`}`),
  );
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    // WITH (FORCE) (PostgreSQL 13+) terminates the database's backends first, so a leaked pool cannot block it.
    drop: () => withAdmin(async (admin) => void (await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))),
  };
}

async function withRedis<T>(fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(redisUrl(), { lazyConnect: true });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

const scanKeys = async (client: Redis, prefix: string) => {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0');
  return keys;
};

/** Every Redis key under `prefix`, sorted, full names (prefix included). */
export const listRedisKeys = (prefix: string) => withRedis(async (client) => (await scanKeys(client, prefix)).sort());

/** Deletes every Redis key under `prefix` (SCAN, never FLUSHALL: other runs share the server). */
export const deleteRedisKeys = (prefix: string) =>
  withRedis(async (client) => {
    const keys = await scanKeys(client, prefix);
    if (keys.length) await client.unlink(...keys);
  });
