// Names this run, so that what the workers keep for the run's length (the PGlite templates of
// test/support/pglite-template.ts) can be found and removed when the run ends, and never clash with another run's.
import { randomBytes } from 'node:crypto';

export default function globalSetup(): void {
  process.env.TG_TEST_RUN ??= randomBytes(6).toString('hex'); // workers inherit the environment
}
