// One freshly initialised PGlite cluster per jest worker, copied into each embedded test's DATA_DIR. Creating a
// cluster (initdb, in WASM) takes seconds of CPU; copying a closed one takes a fraction of that. The copy is exactly
// what `npm start` creates on an empty DATA_DIR before its first migration, so each boot still migrates, locks and
// serves as it would in production: only the initdb step is shared.
import { existsSync } from 'node:fs';
import { cp, mkdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { PGlite } from '@electric-sql/pglite';

// Per run and worker process: parallel workers and parallel runs never share one. The run's global teardown
// (test/support/global-teardown.ts) removes them.
const template = join(tmpdir(), `tg-pglite-template-${process.env.TG_TEST_RUN ?? 'single'}-${process.pid}`);

async function ensureTemplate(): Promise<string> {
  if (existsSync(join(template, 'ready'))) return template;
  const building = `${template}.${Math.random().toString(36).slice(2)}`;
  await mkdir(building, { recursive: true });
  const pglite = await PGlite.create(join(building, 'pglite'));
  await pglite.close();
  await mkdir(join(building, 'ready'));
  try {
    await rename(building, template);
  } catch {
    await rm(building, { recursive: true, force: true }); // built twice at once: the first one stays
  }
  return template;
}

/** Puts a fresh, never-migrated PGlite cluster in dataDir (as `pglite/`), as an empty DATA_DIR gets at first start. */
export async function seedPglite(dataDir: string): Promise<void> {
  await cp(join(await ensureTemplate(), 'pglite'), join(dataDir, 'pglite'), { recursive: true });
}
