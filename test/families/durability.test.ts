// Families are durable: a restarted server keeps every one. And a rotation is one atomic write: when issuing the
// successor fails, in the database or in the store, the presented token is not consumed, so the client's retry
// succeeds.
import { afterAll, describe, expect, it } from '@jest/globals';

import { familyOf, tokensOf } from '../support/families.js';
import { createTestClient, createUser, introspect, obtainTokens, refresh } from '../support/oauth.js';
import { createStorage, MODES, startOn, type Storage } from '../support/server.js';

describe.each(MODES)('restart (%s storage)', (mode) => {
  let storage: Storage;
  afterAll(() => storage?.cleanup());

  it('keeps every family, with reuse detection intact', async () => {
    storage = await createStorage(mode);
    const before = await startOn(storage, {});
    const client = await createTestClient(before);
    const user = await createUser(before);
    const a = await obtainTokens(before, client, user);
    const b = await obtainTokens(before, client, user);
    const a2 = await refresh(before, client, a.refresh_token);
    const b2 = await refresh(before, client, b.refresh_token);
    const a3 = await refresh(before, client, a2.body.refresh_token as string);
    await before.stop();

    const after = await startOn(storage, {});
    try {
      expect((await refresh(after, client, b2.body.refresh_token as string)).status).toBe(200);
      expect((await refresh(after, client, a.refresh_token)).body.error).toBe('invalid_grant'); // still known as used
      expect((await familyOf(after, a3.body.refresh_token as string)).revoked_reason).toBe('reuse_detected');
      expect((await tokensOf(after, (await familyOf(after, b.refresh_token)).id)).map((t) => t.generation)).toEqual([0, 1, 2]);
    } finally {
      await after.stop();
    }
  }, 60_000);
});

describe('a failure while issuing the successor', () => {
  let storage: Storage;
  afterAll(() => storage?.cleanup());

  it('leaves the presented token unconsumed and the retry succeeds', async () => {
    storage = await createStorage('external');
    const server = await startOn(storage, { REFRESH_REUSE_GRACE_SECONDS: '10' });
    try {
      const client = await createTestClient(server);
      const tokens = await obtainTokens(server, client, await createUser(server));
      // Fault injection: inserting any successor fails, inside the rotation statement.
      await server.db.sql.exec(`
        CREATE FUNCTION fail_successor() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql;
        CREATE TRIGGER fail_successor BEFORE INSERT ON refresh_tokens FOR EACH ROW WHEN (NEW.generation > 0) EXECUTE FUNCTION fail_successor();`);
      const failed = await refresh(server, client, tokens.refresh_token);
      expect(failed.status).toBe(500);
      expect(failed.body).toEqual({ error: 'server_error', error_description: 'oops! something went wrong' });
      const family = await familyOf(server, tokens.refresh_token);
      expect(await tokensOf(server, family.id)).toEqual([expect.objectContaining({ generation: 0, consumed_at: null, has_payload: true })]);
      expect(family.refresh_count).toBe(0);

      await server.db.sql.exec('DROP TRIGGER fail_successor ON refresh_tokens; DROP FUNCTION fail_successor();');
      const retried = await refresh(server, client, tokens.refresh_token);
      expect(retried.status).toBe(200);
      expect((await introspect(server, client, retried.body.access_token as string)).body.active).toBe(true);
      expect((await refresh(server, client, retried.body.refresh_token as string)).status).toBe(200);
    } finally {
      await server.stop();
    }
  }, 60_000);
});

describe('a failure in the rotation\'s store writes', () => {
  let storage: Storage;
  afterAll(() => storage?.cleanup());

  it('consumes nothing, gives the grace claim up, and the retry gets a working access token', async () => {
    storage = await createStorage('external');
    const server = await startOn(storage, { REFRESH_REUSE_GRACE_SECONDS: '10' });
    try {
      const client = await createTestClient(server);
      const tokens = await obtainTokens(server, client, await createUser(server));
      const family = await familyOf(server, tokens.refresh_token);
      // Fault injection in real Redis: the family's access-token index is a string, so adding to it fails
      // (WRONGTYPE) while the access token and the grace claim, sent with it, succeed.
      const index = `rt:family:${family.id}:at`;
      await server.store.delete(index);
      await server.store.set(index, 'not a set', 60);
      const failed = await refresh(server, client, tokens.refresh_token);
      expect(failed.status).toBe(500);
      expect(await tokensOf(server, family.id)).toEqual([expect.objectContaining({ generation: 0, consumed_at: null, has_payload: true })]);

      await server.store.delete(index);
      const retried = await refresh(server, client, tokens.refresh_token);
      expect(retried.status).toBe(200);
      // Had the claim been kept, this retry would have been answered from it, with the discarded access token.
      expect((await introspect(server, client, retried.body.access_token as string)).body.active).toBe(true);
      expect((await refresh(server, client, retried.body.refresh_token as string)).status).toBe(200);
    } finally {
      await server.stop();
    }
  }, 60_000);
});
