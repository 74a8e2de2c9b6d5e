// Applies prisma/migrations/<name>/migration.sql in order and records each in `_prisma_migrations` exactly as
// `prisma migrate deploy` does (id, sha256 checksum of the file, timestamps, applied_steps_count), so a machine
// with Prisma's native engine sees the same history. We cannot run `prisma migrate` here: its schema engine cannot
// be downloaded on these machines (docs/decisions/0001-hand-written-migrations.md).
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { SqlRunner } from './sql.js';

/** prisma/migrations of the project this module belongs to, found from src/db (tsx) or dist/src/db (compiled). */
function findMigrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++, dir = dirname(dir)) {
    const candidate = join(dir, 'prisma', 'migrations');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('prisma/migrations not found above src/db/migrate');
}

export const MIGRATIONS_DIR = findMigrationsDir();

// Prisma's own definition of its bookkeeping table.
const BOOKKEEPING = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);`;

// Any fixed number: instances starting together on one database take turns instead of racing.
const LOCK_ID = 7_246_830_115;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Applies pending migrations; returns the names applied. Refuses to run over a modified or failed migration. */
export async function migrate(sql: SqlRunner, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await readMigrations());
  return sql.withConnection(async (conn) => {
    await conn.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
    try {
      await conn.exec(BOOKKEEPING);
      const rows = await conn.query<{
        migration_name: string;
        checksum: string;
        finished_at: Date | null;
        rolled_back_at: Date | null;
      }>('SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"');
      const applied = new Map(rows.filter((r) => !r.rolled_back_at).map((r) => [r.migration_name, r]));
      const done: string[] = [];
      for (const m of all) {
        const row = applied.get(m.name);
        if (row) {
          if (!row.finished_at) throw new MigrationError(`migration ${m.name} failed earlier; resolve it by hand`);
          if (row.checksum !== m.checksum)
            throw new MigrationError(`migration ${m.name} was modified after it was applied`);
          continue;
        }
        const id = randomUUID();
        // The script and its bookkeeping commit together: a failure leaves neither behind.
        await conn.exec('BEGIN');
        try {
          await conn.query(
            'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())',
            [id, m.checksum, m.name],
          );
          await conn.exec(m.sql);
          await conn.query(
            'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
            [id],
          );
          await conn.exec('COMMIT');
        } catch (err) {
          await conn.exec('ROLLBACK');
          throw new MigrationError(`migration ${m.name} failed: ${(err as Error).message}`);
        }
        done.push(m.name);
      }
      return done;
    } finally {
      await conn.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]);
    }
  });
}
