// One freshly initialised and migrated PGlite cluster per jest worker, copied into each embedded test's DATA_DIR.
// Creating a cluster (initdb, in WASM) takes seconds of CPU and migrating it about one more; copying a closed one
// takes a fraction of that. A server booting on the copy still locks, serves and runs the migrator (which finds
// everything applied) as it would in production; migrating an empty cluster is test/db/migrate.test.ts's.
import { existsSync } from 'node:fs';
import { cp, mkdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { migrate } from '../../src/db/migrate.js';
import { openPglite } from '../../src/db/pglite.js';

// Per run and worker process: parallel workers and parallel runs never share one. The run's global teardown
// (test/support/global-teardown.ts) removes them.
const template = join(tmpdir(), `tg-pglite-template-${process.env.TG_TEST_RUN ?? 'single'}-${process.pid}`);

async function ensureTemplate(): Promise<string> {
  if (existsSync(join(template, 'ready'))) return template;
  const building = `${template}.${Math.random().toString(36).slice(2)}`;
  await mkdir(building, { recursive: true });
  const db = await openPglite(building, { serveSocket: false });
  try {
    await migrate(db.sql);
  } finally {
    await db.close();
  }
  await mkdir(join(building, 'ready'));
  try {
    await rename(building, template);
  } catch {
    await rm(building, { recursive: true, force: true }); // built twice at once: the first one stays
  }
  return template;
}

/** Puts a fresh, migrated PGlite cluster in dataDir (as `pglite/`), as a DATA_DIR is after its first start. */
export async function seedPglite(dataDir: string): Promise<void> {
  await cp(join(await ensureTemplate(), 'pglite'), join(dataDir, 'pglite'), { recursive: true });
}
