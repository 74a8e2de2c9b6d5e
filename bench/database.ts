// The benchmark's own PostgreSQL database, fresh per run, on the machine's server (the maintenance connection the
// tests use; TEST_PG_ADMIN_URL overrides it). Named tg_bench_<random>, so a leftover from a killed run is
// recognisable as the benchmark's and never mistaken for a test's.
import { createTestDatabase, withAdmin, type TestDatabase } from '../test/support/postgres.js';

export type BenchDatabase = TestDatabase;

export const withPgAdmin = withAdmin;

export const createBenchDatabase = (): Promise<BenchDatabase> => createTestDatabase('tg_bench');
