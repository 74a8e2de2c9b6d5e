// The audit table refuses updates and deletes at the database level.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { openDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

describe('audit_events', () => {
  let target: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    target = await createTestDatabase();
    db = await openDatabase(
      { databaseUrl: target.url, dataDir: '', db: { poolSize: 2, connectTimeoutMs: 2000, statementTimeoutMs: 15000 } },
      { serve: false },
    );
    await migrate(db.sql);
  });
  afterAll(async () => {
    await db?.close();
    await target?.drop();
  });

  it('accepts inserts and refuses updates and deletes', async () => {
    await db.sql.query("INSERT INTO audit_events (type, outcome) VALUES ('login.failed', 'failure')");
    await expect(db.sql.query("UPDATE audit_events SET outcome = 'success'")).rejects.toThrow(/append-only/);
    await expect(db.sql.query('DELETE FROM audit_events')).rejects.toThrow(/append-only/);
    expect(await db.sql.query('SELECT type, outcome FROM audit_events')).toEqual([
      { type: 'login.failed', outcome: 'failure' },
    ]);
  });
});
