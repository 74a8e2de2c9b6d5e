// The benchmark's own PostgreSQL database, fresh per run, on the machine's server (the maintenance connection
// test/support/postgres.ts uses, TEST_PG_ADMIN_URL to override). Named tg_bench_<random>, so a leftover from a
// killed run is recognisable as the benchmark's and never mistaken for a test's.
import { randomBytes } from 'node:crypto';

import pg from 'pg';

const adminUrl = () => process.env.TEST_PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export async function withPgAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `tg_bench_${randomBytes(6).toString('hex')}`; // [a-z0-9_] only: safe to quote as an identifier
  await withPgAdmin((admin) => admin.query(`CREATE DATABASE "${name}"`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    // WITH (FORCE): ends the backends of a server that did not shut down cleanly.
    drop: () => withPgAdmin(async (admin) => void (await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))),
  };
}
