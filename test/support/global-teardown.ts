// Removes this run's templates: the PGlite clusters (test/support/pglite-template.ts) and the migrated PostgreSQL
// databases (test/support/migrated-template.ts, named tg_tpl_<run>_<pid>).
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

export default async function globalTeardown(): Promise<void> {
  const run = process.env.TG_TEST_RUN;
  if (!run) return;
  const prefix = `tg-pglite-template-${run}-`;
  for (const name of await readdir(tmpdir())) {
    if (name.startsWith(prefix)) await rm(join(tmpdir(), name), { recursive: true, force: true });
  }
  // pg directly: jest loads this file without the test modules' import mapping (./postgres.js would not resolve).
  const admin = new pg.Client({
    connectionString: process.env.TEST_PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND datname ~ '^[a-z0-9_]+$'",
      [`tg_tpl_${run}_`],
    );
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
