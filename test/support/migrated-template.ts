// One migrated PostgreSQL database per test run and jest worker, copied (CREATE DATABASE ... TEMPLATE) into each
// test server's fresh database: running every migration for each of the suite's hundred-odd databases cost about a
// second of a busy machine each. A server booting on the copy still runs the migrator, which finds everything
// applied; migrating an empty database is test/db/migrate.test.ts's (createTestDatabase without a template).
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createTestDatabase, withAdmin } from './postgres.js';

/** Every run's templates start with this; the run's global teardown (test/support/global-teardown.ts) drops them. */
export const templatePrefix = (run = process.env.TG_TEST_RUN ?? 'single') => `tg_tpl_${run}_`;

const exists = (name: string) =>
  withAdmin(
    async (admin) => (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1,
  );

/** The name of this worker's migrated template database, built on first use. */
export async function migratedTemplate(): Promise<string> {
  // The module registry is per test file, so the template is found by name, not remembered in a variable.
  const name = `${templatePrefix()}${process.pid}`.replace(/[^a-z0-9_]/g, '');
  if (await exists(name)) return name;
  const building = await createTestDatabase('tg_tpl_building');
  try {
    const db = await openDatabase(loadConfig({ DATABASE_URL: building.url }), { serve: false });
    try {
      await migrate(db.sql);
    } finally {
      await db.close();
    }
  } catch (err) {
    await building.drop();
    throw err;
  }
  try {
    await withAdmin((admin) => admin.query(`ALTER DATABASE "${building.name}" RENAME TO "${name}"`));
  } catch (err) {
    await building.drop(); // built twice at once: the first one stays
    if (!(await exists(name))) throw err;
  }
  return name;
}
