// The store's copy of grant and account state (src/store/mirror.ts), on both store implementations: a missing copy
// is read from its source and filled, and a reader that read the source before a writer's change cannot put the old
// state back after the writer's invalidate (the race a revocation must win).
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { createMemoryStore } from '../../src/store/memory-store.js';
import { createMirror, type AccountState, type Mirror } from '../../src/store/mirror.js';
import { createRedisStore } from '../../src/store/redis-store.js';
import type { ShortLivedStore } from '../../src/store/types.js';
import { deleteRedisKeys, redisUrl, uniquePrefix } from '../support/postgres.js';

const ENABLED: AccountState = { notBefore: null, disabled: false };
const DISABLED: AccountState = { notBefore: new Date(1_700_000_000_000), disabled: true };

describe.each(['memory', 'redis'] as const)('the store’s copy of durable state (%s)', (kind) => {
  let store: ShortLivedStore;
  let mirror: Mirror;
  const prefix = uniquePrefix();
  beforeAll(async () => {
    store =
      kind === 'memory'
        ? createMemoryStore()
        : await createRedisStore({ url: redisUrl(), prefix, commandTimeoutMs: 2000 });
    mirror = createMirror(store, { accessTokenTtl: 600 });
  });
  afterAll(async () => {
    await store.close();
    if (kind === 'redis') await deleteRedisKeys(prefix);
  });

  /** A source that counts its reads and answers `state`. */
  const source = (state: AccountState | null) => {
    const load = async () => {
      load.reads += 1;
      return state;
    };
    load.reads = 0;
    return load;
  };

  it('reads the source once, then answers from the copy; an account gone is remembered as gone', async () => {
    const id = randomUUID();
    const load = source(DISABLED);
    expect(await mirror.account(id, load)).toEqual(DISABLED);
    expect(await mirror.account(id, load)).toEqual(DISABLED);
    expect(load.reads).toBe(1);
    const gone = randomUUID();
    const none = source(null);
    expect(await mirror.account(gone, none)).toBeNull();
    expect(await mirror.account(gone, none)).toBeNull();
    expect(none.reads).toBe(1);
  });

  it('a missing or unreadable copy means "read the source again", never a default', async () => {
    const id = randomUUID();
    await mirror.account(id, source(DISABLED));
    await store.delete(`mirror:account:{${id}}`);
    const again = source(DISABLED);
    expect(await mirror.account(id, again)).toEqual(DISABLED);
    expect(again.reads).toBe(1);
    await store.set(`mirror:account:{${id}}`, 'not json', 60);
    expect(await mirror.account(id, source(DISABLED))).toEqual(DISABLED);
  });

  it('a reader that read the source before a change committed cannot put the old state back after it', async () => {
    const id = randomUUID();
    // The reader reads the source (enabled); meanwhile the account is disabled and the copy invalidated.
    const stale = async () => {
      await mirror.forgetAccount(id);
      return ENABLED;
    };
    expect(await mirror.account(id, stale)).toEqual(ENABLED); // its own answer raced the change
    const fresh = source(DISABLED);
    expect(await mirror.account(id, fresh)).toEqual(DISABLED); // but the copy was not filled with it
    expect(fresh.reads).toBe(1);
  });

  it('reads a grant and its account together, fills what was missing, and holds the lease for each', async () => {
    const id = randomUUID();
    const grant = `grant-${randomUUID()}`;
    const state = { clientId: 'c', accountId: id, exp: 2_000_000_000 };
    const grantLoad = async () => state;
    const both = await mirror.grantAndAccount({ idHash: grant, load: grantLoad }, { id, load: source(DISABLED) });
    expect(both).toEqual({ grant: state, account: DISABLED });
    const none = source(ENABLED);
    expect(await mirror.grantAndAccount({ idHash: grant, load: async () => null }, { id, load: none })).toEqual(both);
    expect(none.reads).toBe(0);
    // A reader racing a change of the account does not fill it with what it read before the change.
    await mirror.forgetAccount(id);
    const stale = async () => {
      await mirror.forgetAccount(id);
      return ENABLED;
    };
    await mirror.grantAndAccount({ idHash: grant, load: grantLoad }, { id, load: stale });
    expect(await mirror.account(id, source(DISABLED))).toEqual(DISABLED);
  });

  it('a change invalidates the copy: the next reader reads the source', async () => {
    const id = randomUUID();
    expect(await mirror.account(id, source(ENABLED))).toEqual(ENABLED);
    await mirror.forgetAccount(id);
    expect(await mirror.account(id, source(DISABLED))).toEqual(DISABLED);
    const grant = `grant-${randomUUID()}`;
    const state = { clientId: 'c', accountId: id, exp: 2_000_000_000 };
    expect(await mirror.grant(grant, async () => state)).toEqual(state);
    await mirror.forgetGrants([grant]);
    expect(await mirror.grant(grant, async () => null)).toBeNull();
  });
});
