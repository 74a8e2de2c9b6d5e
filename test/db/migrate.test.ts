// The migrator (src/db/migrate.ts) against both database kinds: a fresh PostgreSQL database and an embedded PGlite
// in a temporary DATA_DIR. It must keep `_prisma_migrations` exactly as `prisma migrate deploy` would.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from '@jest/globals';

import { openDatabase, type Database } from '../../src/db/database.js';
import { migrate, MigrationError, MIGRATIONS_DIR, readMigrations, type Migration } from '../../src/db/migrate.js';
import type { SqlRunner } from '../../src/db/sql.js';
import { createTestDatabase } from '../support/postgres.js';

const dbSettings = { poolSize: 4, connectTimeoutMs: 2000, statementTimeoutMs: 15000 };

interface Opened {
  db: Database;
  /** Closes the database and removes it. */
  dispose(): Promise<void>;
}

async function openPostgres(): Promise<Opened> {
  const target = await createTestDatabase();
  const db = await openDatabase({ databaseUrl: target.url, dataDir: '', db: dbSettings }, { serve: false });
  return { db, dispose: async () => (await db.close(), await target.drop()) };
}

async function openEmbedded(): Promise<Opened> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tg-test-pglite-'));
  const db = await openDatabase({ databaseUrl: undefined, dataDir, db: dbSettings }, { serve: false });
  return { db, dispose: async () => (await db.close(), await rm(dataDir, { recursive: true, force: true })) };
}

interface BookkeepingRow {
  id: string;
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
  logs: string | null;
}

const bookkeeping = (sql: SqlRunner) =>
  sql.query<BookkeepingRow>('SELECT * FROM "_prisma_migrations" ORDER BY migration_name');

const tableExists = async (sql: SqlRunner, table: string) =>
  (await sql.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [table]))[0]!.found !== null;

/** The migrations on disk, with checksums computed here from the files, independently of readMigrations. */
async function migrationFiles(): Promise<{ name: string; checksum: string }[]> {
  const names = (await readMigrations()).map((m) => m.name);
  return Promise.all(
    names.map(async (name) => {
      const bytes = await readFile(join(MIGRATIONS_DIR, name, 'migration.sql'));
      return { name, checksum: createHash('sha256').update(bytes).digest('hex') };
    }),
  );
}

const withChecksum = (name: string, sql: string): Migration => ({
  name,
  sql,
  checksum: createHash('sha256').update(sql).digest('hex'),
});

function describeMigrator(kind: string, open: () => Promise<Opened>) {
  describe(`migrate on ${kind}`, () => {
    const opened: Opened[] = [];
    const fresh = async () => {
      const o = await open();
      opened.push(o);
      return o.db;
    };
    afterAll(async () => {
      for (const o of opened) await o.dispose();
    });

    it('applies every migration and records it in _prisma_migrations as Prisma does', async () => {
      const db = await fresh();
      const files = await migrationFiles();
      expect(files.length).toBeGreaterThan(0);

      const before = Date.now();
      expect(await migrate(db.sql)).toEqual(files.map((f) => f.name));

      const rows = await bookkeeping(db.sql);
      expect(rows.map((r) => [r.migration_name, r.checksum])).toEqual(files.map((f) => [f.name, f.checksum]));
      for (const row of rows) {
        expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
        expect(row.finished_at).toBeInstanceOf(Date);
        expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
        expect(row.started_at.getTime()).toBeGreaterThan(before - 5_000); // server clock, small skew allowed
        expect(row.rolled_back_at).toBeNull();
        expect(row.applied_steps_count).toBe(1);
        expect(row.logs).toBeNull();
      }
      expect(await tableExists(db.sql, 'accounts')).toBe(true);
    });

    it('applies nothing the second time', async () => {
      const db = await fresh();
      await migrate(db.sql);
      const rows = await bookkeeping(db.sql);
      expect(await migrate(db.sql)).toEqual([]);
      expect(await bookkeeping(db.sql)).toEqual(rows);
    });

    it('refuses a migration modified after it was applied, and applies nothing after it', async () => {
      const db = await fresh();
      await migrate(db.sql);
      const rows = await bookkeeping(db.sql);
      const [first, ...rest] = await readMigrations();
      const edited = [
        withChecksum(first!.name, `${first!.sql}\n-- edited afterwards\n`),
        ...rest,
        withChecksum('29990101000000_after_the_edit', 'CREATE TABLE "tg_after_edit" ("id" INTEGER);'),
      ];

      const attempt = migrate(db.sql, edited);
      await expect(attempt).rejects.toThrow(MigrationError);
      await expect(attempt).rejects.toThrow(`migration ${first!.name} was modified after it was applied`);
      expect(await bookkeeping(db.sql)).toEqual(rows);
      expect(await tableExists(db.sql, 'tg_after_edit')).toBe(false);
    });

    it('rolls a failing migration back entirely: no table, no row', async () => {
      const db = await fresh();
      await migrate(db.sql);
      const rows = await bookkeeping(db.sql);
      const broken = withChecksum(
        '29990101000000_broken',
        'CREATE TABLE "tg_broken" ("id" INTEGER);\nINSERT INTO "tg_broken" VALUES (1);\nSELEC nonsense;',
      );

      const attempt = migrate(db.sql, [...(await readMigrations()), broken]);
      await expect(attempt).rejects.toThrow(MigrationError);
      await expect(attempt).rejects.toThrow(
        /^migration 29990101000000_broken failed: syntax error at or near "SELEC"$/,
      );
      expect(await tableExists(db.sql, 'tg_broken')).toBe(false);
      expect(await bookkeeping(db.sql)).toEqual(rows);

      // Nothing was left half-done: a corrected migration under the same name now applies.
      const fixed = withChecksum(broken.name, 'CREATE TABLE "tg_broken" ("id" INTEGER);');
      expect(await migrate(db.sql, [...(await readMigrations()), fixed])).toEqual([fixed.name]);
      expect(await tableExists(db.sql, 'tg_broken')).toBe(true);
    });
  });
}

describeMigrator('PostgreSQL', openPostgres);
describeMigrator('embedded PGlite', openEmbedded);

describe('migrate on PostgreSQL, concurrently', () => {
  it('two instances migrating one database at once both succeed and apply each migration once', async () => {
    const target = await createTestDatabase();
    const config = { databaseUrl: target.url, dataDir: '', db: dbSettings };
    const [a, b] = await Promise.all([openDatabase(config, { serve: false }), openDatabase(config, { serve: false })]);
    try {
      const files = await migrationFiles();
      const [appliedByA, appliedByB] = await Promise.all([migrate(a.sql), migrate(b.sql)]);

      expect([...appliedByA, ...appliedByB].sort()).toEqual(files.map((f) => f.name));
      expect([appliedByA, appliedByB]).toContainEqual([]); // one instance waited and found nothing left to do
      const rows = await bookkeeping(a.sql);
      expect(rows.map((r) => r.migration_name)).toEqual(files.map((f) => f.name));
      expect(rows.every((r) => r.finished_at !== null)).toBe(true);
    } finally {
      await a.close();
      await b.close();
      await target.drop();
    }
  });
});
