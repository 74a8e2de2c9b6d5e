// Families are durable: a restarted server keeps every one. And a rotation is one atomic write: when issuing the
// successor fails, in the database or in the store, the presented token is not consumed, so the client's retry
// succeeds.
import { afterAll, describe, expect, it } from '@jest/globals';

import { familyOf, tokensOf } from '../support/families.js';
import type { ClientView } from '../../src/clients/clients.js';
import { createTestClient, createUser, introspect, obtainTokens, refresh, type Tokens } from '../support/oauth.js';
import { createStorage, MODES, startOn, type Storage, type TestServer } from '../support/server.js';

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
      expect((await tokensOf(after, (await familyOf(after, b.refresh_token)).id)).map((t) => t.generation)).toEqual([
        0, 1, 2,
      ]);
    } finally {
      await after.stop();
    }
  });
});

describe('a failure during a rotation', () => {
  const storages: Storage[] = [];
  afterAll(() => Promise.all(storages.map((s) => s.cleanup())));

  /** A server with a grace window, and a client holding one user's first tokens. */
  async function rotating(test: (server: TestServer, client: ClientView, tokens: Tokens) => Promise<void>) {
    const storage = await createStorage('external');
    storages.push(storage);
    const server = await startOn(storage, { REFRESH_REUSE_GRACE_SECONDS: '10' });
    try {
      const client = await createTestClient(server);
      await test(server, client, await obtainTokens(server, client, await createUser(server)));
    } finally {
      await server.stop();
    }
  }

  /** The token's family still holds only that token, unconsumed, and the retry rotates into a working chain. */
  async function expectRetrySucceeds(
    server: TestServer,
    client: ClientView,
    tokens: Tokens,
    heal: () => Promise<void>,
  ) {
    const family = await familyOf(server, tokens.refresh_token);
    expect(await tokensOf(server, family.id)).toEqual([
      expect.objectContaining({ generation: 0, consumed_at: null, has_payload: true }),
    ]);
    expect(family.refresh_count).toBe(0);

    await heal();
    const retried = await refresh(server, client, tokens.refresh_token);
    expect(retried.status).toBe(200);
    // Had a grace claim been kept, this retry would have been answered from it, with a discarded access token.
    expect((await introspect(server, client, retried.body.access_token as string)).body.active).toBe(true);
    expect((await refresh(server, client, retried.body.refresh_token as string)).status).toBe(200);
  }

  it('in the database: the presented token stays unconsumed and the retry succeeds', () =>
    rotating(async (server, client, tokens) => {
      // Fault injection: inserting any successor fails, inside the rotation statement.
      await server.db.sql.exec(`
        CREATE FUNCTION fail_successor() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql;
        CREATE TRIGGER fail_successor BEFORE INSERT ON refresh_tokens FOR EACH ROW WHEN (NEW.generation > 0) EXECUTE FUNCTION fail_successor();`);
      const failed = await refresh(server, client, tokens.refresh_token);
      expect(failed.status).toBe(500);
      expect(failed.body).toEqual({ error: 'server_error', error_description: 'oops! something went wrong' });
      await expectRetrySucceeds(server, client, tokens, () =>
        server.db.sql.exec('DROP TRIGGER fail_successor ON refresh_tokens; DROP FUNCTION fail_successor();'),
      );
    }));

  it('in the store: nothing is consumed, the grace claim is given up, and the retry gets a working access token', () =>
    rotating(async (server, client, tokens) => {
      // Fault injection in real Redis: the family's access-token index is a string, so adding to it fails
      // (WRONGTYPE) while the access token and the grace claim, sent with it, succeed.
      const index = `rt:family:${(await familyOf(server, tokens.refresh_token)).id}:at`;
      await server.store.delete(index);
      await server.store.set(index, 'not a set', 60);
      expect((await refresh(server, client, tokens.refresh_token)).status).toBe(500);
      await expectRetrySucceeds(server, client, tokens, () => server.store.delete(index));
    }));
});
