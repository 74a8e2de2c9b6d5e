// The benchmark's own PostgreSQL database, fresh per run, on the machine's server (the maintenance connection the
// tests use; TEST_PG_ADMIN_URL overrides it). Named tg_bench_<random>, so a leftover from a killed run is
// recognisable as the benchmark's and never mistaken for a test's.
import type pg from 'pg';

import { createTestDatabase, withAdmin, type TestDatabase } from '../test/support/postgres.js';

export type BenchDatabase = TestDatabase;

export const withPgAdmin = withAdmin;

export const createBenchDatabase = (prefix = 'tg_bench'): Promise<BenchDatabase> => createTestDatabase(prefix);

/** Backends serving the monitor's database, but the monitor's own: their CPU is the server's cost. */
export async function databaseBackends(monitor: pg.Client): Promise<number[]> {
  const { rows } = await monitor.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  return rows.map((r) => r.pid);
}
