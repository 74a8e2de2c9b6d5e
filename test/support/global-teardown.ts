// Removes this run's PGlite templates (test/support/pglite-template.ts).
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default async function globalTeardown(): Promise<void> {
  const run = process.env.TG_TEST_RUN;
  if (!run) return;
  const prefix = `tg-pglite-template-${run}-`;
  for (const name of await readdir(tmpdir())) {
    if (name.startsWith(prefix)) await rm(join(tmpdir(), name), { recursive: true, force: true });
  }
}
