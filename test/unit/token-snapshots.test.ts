// A refresh token's snapshot lives as long as the token, but never longer than the cap: the tokens of clients that
// went quiet must not hold ~2.5 KB each in the store for the whole refresh lifetime (14 days by default).
import { randomBytes } from 'node:crypto';

import { describe, expect, it } from '@jest/globals';

import { createSealer } from '../../src/crypto/seal.js';
import type { FamilyRow, TokenRow } from '../../src/families/repository.js';
import { snapshotMaxSeconds, TokenSnapshots } from '../../src/families/token-snapshots.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { ShortLivedStore } from '../../src/store/types.js';

const DAY = 86_400;

function row(expiresInSeconds: number): TokenRow {
  const now = Date.now();
  const family: FamilyRow = {
    id: 'f',
    accountId: 'a',
    clientId: 'c',
    grantId: 'g',
    ip: null,
    userAgent: null,
    createdAt: new Date(now),
    lastUsedAt: new Date(now),
    refreshCount: 0,
    idleExpiresAt: new Date(now + expiresInSeconds * 1000),
    expiresAt: new Date(now + 30 * DAY * 1000),
    revokedAt: null,
    lastIp: null,
    lastUserAgent: null,
    rapidStreak: 0,
  };
  return {
    id: `hash-${expiresInSeconds}`,
    parentId: null,
    generation: 0,
    payload: { kind: 'RefreshToken' },
    expiresAt: new Date(now + expiresInSeconds * 1000),
    consumedAt: null,
    grant: null,
    account: null,
    family,
  };
}

/** The real in-process store, with each write's lifetime noted. */
function recordingStore(): { store: ShortLivedStore; ttls: Map<string, number | undefined> } {
  const store = createMemoryStore();
  const ttls = new Map<string, number | undefined>();
  const set = store.set.bind(store);
  return {
    ttls,
    store: Object.assign(Object.create(store) as ShortLivedStore, {
      set: (key: string, value: string, ttl?: number) => {
        ttls.set(key, ttl);
        return set(key, value, ttl);
      },
    }),
  };
}

describe('refresh-token snapshots', () => {
  it('cap at the longer of an hour and four access-token lifetimes', () => {
    expect(snapshotMaxSeconds(900)).toBe(3600);
    expect(snapshotMaxSeconds(3600)).toBe(4 * 3600);
  });

  it('live no longer than the cap, and no longer than their token', async () => {
    const { store, ttls } = recordingStore();
    const snapshots = new TokenSnapshots(store, createSealer(randomBytes(32)), 3600);
    const long = row(14 * DAY);
    const short = row(600);
    await snapshots.write(long);
    await snapshots.write(short);
    expect(ttls.get(snapshots.key(long.id))).toBe(3600);
    expect(ttls.get(snapshots.key(short.id))).toBeGreaterThan(590);
    expect(ttls.get(snapshots.key(short.id))).toBeLessThanOrEqual(600);
    expect((await snapshots.read(long.id))?.id).toBe(long.id);
    await store.close();
  });
});
