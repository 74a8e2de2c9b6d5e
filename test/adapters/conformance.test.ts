// One suite, every storage behind the oidc-provider adapter (adapters/index.ts): short-lived models on the
// in-process store and on Redis; durable models (Grant in the payload table, RefreshToken in families) on PostgreSQL
// and on embedded PGlite. The contract: ids are stored only as HMACs and `jti` comes back on find; an expired
// artifact is gone; consume is atomic and a replayed code revokes its grant; revocation by grant is exact.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';

import { createAdapterFactory, type AdapterFactory } from '../../adapters/index.js';
import { pruneExpiredPayloads } from '../../src/db/oidc-payloads.js';
import { snapshotMaxSeconds, TokenSnapshots } from '../../src/families/token-snapshots.js';
import type { Payload } from '../../src/store/payload.js';
import { createSealer } from '../../src/crypto/seal.js';
import { createTokenHasher } from '../../src/crypto/token-hash.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { InvalidGrant, type TollgateError } from '../../src/errors.js';
import { Families } from '../../src/families/families.js';
import { FamilyRepository } from '../../src/families/repository.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import { createMirror } from '../../src/store/mirror.js';
import { createRedisStore } from '../../src/store/redis-store.js';
import type { ShortLivedStore } from '../../src/store/types.js';
import { createTestDatabase, deleteRedisKeys, listRedisKeys, redisUrl, uniquePrefix } from '../support/postgres.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const epochNow = () => Math.floor(Date.now() / 1000);
/** Shaped like oidc-provider's ids: 43 base64url characters, so it cannot occur by chance in a hash or a key. */
const newId = () => randomBytes(32).toString('base64url');
const hash = createTokenHasher(randomBytes(32));
const sealer = createSealer(randomBytes(32));
// Generous timeouts: other suites share these two cores and this PostgreSQL.
const dbSettings = { poolSize: 4, connectTimeoutMs: 5000, statementTimeoutMs: 15_000 };
const familyPolicy = { idleTtlSeconds: 3600, maxTtlSeconds: 86_400, velocityMax: 100, velocityWindowSeconds: 60 };
const REPLAY_REFUSED = 'refresh tokens are consumed by rotation (src/oidc/grants/refresh-token.ts)';

/** A payload as oidc-provider hands it to upsert: `jti` included, `exp` matching expiresIn, a marker to find at rest. */
const payloadFor = (model: string, id: string, extra: Partial<Payload> = {}, expiresIn = 60): Payload => ({
  jti: id,
  kind: model,
  accountId: randomUUID(),
  clientId: 'client-1',
  ...(model === 'Grant' ? {} : { grantId: newId() }),
  marker: `marker-${randomBytes(6).toString('hex')}`,
  iat: epochNow(),
  exp: Math.ceil(Date.now() / 1000 + expiresIn),
  ...extra,
});

/** Undo steps, registered as each resource is acquired, so that a failed setup still releases what it got. */
const cleanups: (() => Promise<unknown>)[] = [];
const onCleanup = (fn: () => Promise<unknown>) => void cleanups.unshift(fn);

async function openPostgres(): Promise<Database> {
  const target = await createTestDatabase();
  onCleanup(() => target.drop());
  const db = await openDatabase({ databaseUrl: target.url, dataDir: '', db: dbSettings }, { serve: false });
  onCleanup(() => db.close());
  await migrate(db.sql);
  return db;
}

async function openPglite(): Promise<Database> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tg-test-adapters-'));
  onCleanup(() => rm(dataDir, { recursive: true, force: true }));
  const db = await openDatabase({ databaseUrl: undefined, dataDir, db: dbSettings }, { serve: false });
  onCleanup(() => db.close());
  await migrate(db.sql);
  return db;
}

const factoryOn = (db: Database, store: ShortLivedStore) => {
  const audit = { record: async () => {}, mirror: () => {} };
  const families = new Families(
    new FamilyRepository(db.prisma, db.sql),
    store,
    hash,
    audit,
    familyPolicy,
    createMirror(store, { accessTokenTtl: 600 }),
  );
  const snapshots = new TokenSnapshots(store, sealer, snapshotMaxSeconds(600));
  return createAdapterFactory({
    prisma: db.prisma,
    sql: db.sql,
    store,
    hash,
    sealer,
    families,
    snapshots,
    accessTokenTtl: 600,
  });
};

const durableText = async (db: Database) => {
  const tables = ['oidc_payloads', 'refresh_tokens', 'refresh_token_families'];
  const rows = await Promise.all(
    tables.map((t) => db.sql.query<{ row: string }>(`SELECT t::text AS row FROM "${t}" t`)),
  );
  return rows
    .flat()
    .map((r) => r.row)
    .join('\n');
};

/** Records every key and value handed to a store: the in-process store's representation is exactly that. */
function recordWrites(store: ShortLivedStore): { store: ShortLivedStore; written: string[] } {
  const written: string[] = [];
  const log = (...parts: unknown[]) => void written.push(...parts.map(String));
  return {
    written,
    store: {
      ...store,
      set: (key, value, ttl) => (log(key, value), store.set(key, value, ttl)),
      setIfAbsent: (key, value, ttl) => (log(key, value), store.setIfAbsent(key, value, ttl)),
      consume: (key, at) => (log(key, at), store.consume(key, at)),
      addToSet: (key, member, ttl) => (log(key, member), store.addToSet(key, member, ttl)),
      increment: (key, ttl) => (log(key), store.increment(key, ttl)),
    },
  };
}

let postgres: Database;
let pglite: Database;
let redis: ShortLivedStore;
const rawRedis = new Redis(redisUrl(), { lazyConnect: true });
const redisPrefix = uniquePrefix();
const memory = recordWrites(createMemoryStore());
const sideStore = createMemoryStore();

beforeAll(async () => {
  onCleanup(async () => (await Promise.all([memory.store.close(), sideStore.close()]), rawRedis.disconnect()));
  onCleanup(() => deleteRedisKeys(redisPrefix));
  await Promise.all([
    openPostgres().then((db) => (postgres = db)),
    openPglite().then((db) => (pglite = db)),
    createRedisStore({ url: redisUrl(), prefix: redisPrefix }).then(
      (store) => (onCleanup(() => store.close()), (redis = store)),
    ),
    rawRedis.connect(),
  ]);
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => {});
});

async function redisText(): Promise<string> {
  const keys = await listRedisKeys(redisPrefix);
  const values = await Promise.all(
    keys.map(async (k) =>
      (await rawRedis.type(k)) === 'set' ? (await rawRedis.smembers(k)).join('\n') : ((await rawRedis.get(k)) ?? ''),
    ),
  );
  return [...keys, ...values].join('\n');
}

interface Suite {
  name: string;
  models: string[];
  /** A single-use model; `replayRevokes`, another model of the same grant that a replay must take down with it. */
  consumable: string;
  replayRevokes?: string;
  /** A model carrying a grantId, for revokeByGrantId. */
  granted: string;
  subject(): { factory: AdapterFactory; storedText(): Promise<string> };
}

function describeAdapterConformance({ name, models, consumable, replayRevokes, granted, subject }: Suite) {
  describe(`adapter conformance: ${name}`, () => {
    let current: ReturnType<Suite['subject']>;
    let factory: AdapterFactory;
    beforeAll(() => {
      current = subject();
      factory = current.factory;
    });

    /** Upserts an artifact of `model` with a fresh id; returns the id and the payload as given. */
    const put = async (model: string, extra: Partial<Payload> = {}, expiresIn = 60) => {
      const id = newId();
      const payload = payloadFor(model, id, extra, expiresIn);
      await factory(model).upsert(id, payload, expiresIn);
      return { id, payload };
    };
    const replayed = {
      error: 'invalid_grant',
      status: 400,
      error_description: consumable === 'AuthorizationCode' ? 'authorization code already used' : 'token already used',
    };

    it.each(models)('%s: find after upsert returns the payload exactly, jti restored', async (model) => {
      const { id, payload } = await put(model);
      expect(await factory(model).find(id)).toStrictEqual(payload);
    });

    it.each(models)('%s: find of an unknown id answers undefined', async (model) => {
      await put(model);
      expect(await factory(model).find(newId())).toBeUndefined();
    });

    it('stores each id only as its HMAC, and payloads without jti', async () => {
      const stored = await Promise.all(models.map((model) => put(model, { uid: newId() })));
      const text = await current.storedText();
      stored.forEach(({ id, payload }, i) => {
        expect(text).toContain(hash(id)); // the scan does see the artifact ...
        // ... and its stored payload, unless sealed: an interaction carries other artifacts' credentials
        if (models[i] === 'Interaction') expect(text).not.toContain(payload.marker);
        else expect(text).toContain(payload.marker);
        expect(text).not.toContain(id);
      });
      expect(text).not.toContain('"jti"');
    });

    it('an artifact upserted with expiresIn 1 is gone once expired, and can no longer be consumed', async () => {
      const stored = await Promise.all(models.map(async (model) => ({ model, ...(await put(model, {}, 1)) })));
      for (const { model, id, payload } of stored) expect(await factory(model).find(id)).toStrictEqual(payload);
      await sleep(Math.max(...stored.map((s) => s.payload.exp! * 1000)) + 200 - Date.now()); // ~1.2 s for the stores
      for (const { model, id } of stored) expect(await factory(model).find(id)).toBeUndefined();
      const { id } = stored.find((s) => s.model === consumable)!;
      await expect(factory(consumable).consume(id)).rejects.toMatchObject(replayed);
    });

    it(`${consumable}: consume marks it consumed; a second consume is rejected as invalid_grant`, async () => {
      const grantId = newId();
      await factory('Grant').upsert(grantId, payloadFor('Grant', grantId), 60);
      const { id, payload } = await put(consumable, consumable === 'Grant' ? {} : { grantId });
      const sibling = replayRevokes ? await put(replayRevokes, { grantId }) : undefined;
      const unrelated = replayRevokes ? await put(replayRevokes) : undefined;

      const before = epochNow();
      await expect(factory(consumable).consume(id)).resolves.toBeUndefined();
      const consumed = await factory(consumable).find(id);
      expect(consumed).toStrictEqual({ ...payload, consumed: expect.any(Number) });
      expect(consumed!.consumed).toBeGreaterThanOrEqual(before);
      expect(consumed!.consumed).toBeLessThanOrEqual(epochNow());

      const replay = factory(consumable).consume(id);
      await expect(replay).rejects.toBeInstanceOf(InvalidGrant);
      await expect(replay).rejects.toMatchObject(replayed);
      if (!sibling || !unrelated) return;
      // A replayed code revokes its grant everywhere: its siblings, the code itself and the Grant.
      expect(await factory(replayRevokes!).find(sibling.id)).toBeUndefined();
      expect(await factory(consumable).find(id)).toBeUndefined();
      expect(await factory('Grant').find(grantId)).toBeUndefined();
      expect(await factory(replayRevokes!).find(unrelated.id)).toStrictEqual(unrelated.payload);
    });

    it(`${consumable}: of 20 concurrent consume calls exactly one resolves, the rest are invalid_grant`, async () => {
      const { id } = await put(consumable);
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => factory(consumable).consume(id)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as TollgateError).error] : []));
      expect(errors).toEqual(Array(19).fill('invalid_grant'));
    });

    it(`${consumable}: a consume of an unknown id is rejected as invalid_grant`, async () => {
      await expect(factory(consumable).consume(newId())).rejects.toMatchObject(replayed);
    });

    it.each(models)('%s: destroy removes that artifact only', async (model) => {
      const [gone, kept] = [await put(model), await put(model)];
      await factory(model).destroy(gone.id);
      expect(await factory(model).find(gone.id)).toBeUndefined();
      expect(await factory(model).find(kept.id)).toStrictEqual(kept.payload);
    });

    it(`${granted}: revokeByGrantId removes every artifact of that grant and leaves another grant alone`, async () => {
      const [revoked, kept] = [newId(), newId()];
      const withGrant = [granted, ...models.filter((m) => m !== 'Grant')]; // every model that carries a grantId
      const doomed = await Promise.all(
        withGrant.map(async (model) => ({ model, ...(await put(model, { grantId: revoked })) })),
      );
      const survivors = await Promise.all(
        withGrant.map(async (model) => ({ model, ...(await put(model, { grantId: kept })) })),
      );
      await factory(granted).revokeByGrantId(revoked);
      for (const { model, id } of doomed) expect([model, await factory(model).find(id)]).toEqual([model, undefined]);
      for (const { model, id, payload } of survivors) expect(await factory(model).find(id)).toStrictEqual(payload);
    });

    if (models.includes('Session')) {
      it('Session: findByUid returns the session payload, without jti (the stored session has no raw id)', async () => {
        const uid = newId();
        const { payload } = await put('Session', { uid });
        const { jti: _jti, ...withoutJti } = payload;
        expect(await factory('Session').findByUid(uid)).toStrictEqual(withoutJti);
        expect(await factory('Session').findByUid(newId())).toBeUndefined();
      });
    }

    if (models.includes('RefreshToken')) {
      it('RefreshToken: consume through the adapter is refused (rotation is the refresh grant’s) and revokes nothing', async () => {
        const grantId = newId();
        const [token, sibling] = [await put('RefreshToken', { grantId }), await put('RefreshToken', { grantId })];
        await expect(factory('RefreshToken').consume(token.id)).rejects.toThrow(REPLAY_REFUSED);
        expect(await factory('RefreshToken').find(token.id)).toStrictEqual(token.payload);
        expect(await factory('RefreshToken').find(sibling.id)).toStrictEqual(sibling.payload);
      });
    }

    it.each(models)('%s: findByUserCode answers undefined (no device flow)', async (model) => {
      await put(model, { userCode: 'ABCD-EFGH' });
      expect(await factory(model).findByUserCode('ABCD-EFGH')).toBeUndefined();
    });
  });
}

const shortLived = {
  models: ['AuthorizationCode', 'AccessToken', 'Session', 'Interaction'],
  consumable: 'AuthorizationCode',
  replayRevokes: 'AccessToken',
  granted: 'AccessToken',
};
const durable = { models: ['Grant', 'RefreshToken'], consumable: 'Grant', granted: 'RefreshToken' };

describeAdapterConformance({
  name: 'short-lived models, in-process store',
  ...shortLived,
  subject: () => ({ factory: factoryOn(pglite, memory.store), storedText: async () => memory.written.join('\n') }),
});
describeAdapterConformance({
  name: 'short-lived models, Redis',
  ...shortLived,
  subject: () => ({ factory: factoryOn(postgres, redis), storedText: redisText }),
});
describeAdapterConformance({
  name: 'durable models, PostgreSQL',
  ...durable,
  subject: () => ({ factory: factoryOn(postgres, sideStore), storedText: () => durableText(postgres) }),
});
describeAdapterConformance({
  name: 'durable models, embedded PGlite',
  ...durable,
  subject: () => ({ factory: factoryOn(pglite, sideStore), storedText: () => durableText(pglite) }),
});

describe('factory.revokeGrant (PostgreSQL + Redis)', () => {
  it('removes the grant and its artifacts from both stores at once, and nothing of another grant', async () => {
    const factory = factoryOn(postgres, redis);
    const put = async (model: string, grantId: string) => {
      const id = model === 'Grant' ? grantId : newId();
      const payload = payloadFor(model, id, model === 'Grant' ? {} : { grantId });
      await factory(model).upsert(id, payload, 60);
      return { model, id, payload };
    };
    const artifacts = (grantId: string) =>
      Promise.all(
        ['Grant', 'RefreshToken', 'RefreshToken', 'AuthorizationCode', 'AccessToken', 'Session'].map((m) =>
          put(m, grantId),
        ),
      );
    const [revoked, kept] = [await artifacts(newId()), await artifacts(newId())];
    const [revokedGrant, keptGrant] = [revoked[0]!.id, kept[0]!.id];

    await factory.revokeGrant(revokedGrant);
    for (const { model, id } of revoked) expect([model, await factory(model).find(id)]).toEqual([model, undefined]);
    for (const { model, id, payload } of kept) {
      const found = await factory(model).find(id);
      // Starting a family extends its grant to the family's end (src/families/repository.ts createFamily).
      if (model === 'Grant') expect(found).toStrictEqual({ ...payload, exp: expect.any(Number) });
      else expect(found).toStrictEqual(payload);
    }
    const families = (grantId: string) =>
      postgres.sql.query<{ revoked: boolean }>(
        'SELECT revoked_at IS NOT NULL AS revoked FROM refresh_token_families WHERE grant_id = $1',
        [hash(grantId)],
      );
    expect(await families(revokedGrant)).toEqual([{ revoked: true }, { revoked: true }]);
    expect(await families(keptGrant)).toEqual([{ revoked: false }, { revoked: false }]);
    expect(await postgres.sql.query('SELECT 1 FROM oidc_payloads WHERE id = $1', [hash(revokedGrant)])).toEqual([]);
    expect(await listRedisKeys(`${redisPrefix}oidc:grant:${hash(revokedGrant)}`)).toEqual([]);
    expect(await listRedisKeys(`${redisPrefix}oidc:grant:${hash(keptGrant)}`)).toEqual([
      `${redisPrefix}oidc:grant:${hash(keptGrant)}`,
    ]);
  });
});

describe('pruneExpiredPayloads (PostgreSQL)', () => {
  let db: Database;
  beforeAll(async () => void (db = await openPostgres())); // a database of its own: counts are exact

  const insert = (id: string, expiresAt: Date | null) =>
    db.sql.query(`INSERT INTO "oidc_payloads" (model, id, payload, expires_at) VALUES ('Grant', $1, '{}', $2)`, [
      id,
      expiresAt,
    ]);
  const remaining = async () =>
    (await db.sql.query<{ id: string }>('SELECT id FROM "oidc_payloads" ORDER BY id')).map((r) => r.id);

  it('deletes expired rows in batches, keeps live and non-expiring rows, and returns the count', async () => {
    const [past, future] = [new Date(Date.now() - 60_000), new Date(Date.now() + 60_000)];
    for (const id of ['expired-1', 'expired-2', 'expired-3', 'expired-4', 'expired-5']) await insert(id, past);
    for (const id of ['live-1', 'live-2', 'live-3']) await insert(id, future);
    await insert('no-expiry', null);

    expect(await pruneExpiredPayloads(db.prisma, { batchSize: 2 })).toBe(5);
    expect(await remaining()).toEqual(['live-1', 'live-2', 'live-3', 'no-expiry']);
    expect(await pruneExpiredPayloads(db.prisma, { batchSize: 2 })).toBe(0);
  });

  it('stops after maxBatches', async () => {
    const past = new Date(Date.now() - 60_000);
    for (const id of ['stale-1', 'stale-2', 'stale-3']) await insert(id, past);
    expect(await pruneExpiredPayloads(db.prisma, { batchSize: 2, maxBatches: 1 })).toBe(2);
    expect((await remaining()).filter((id) => id.startsWith('stale-'))).toHaveLength(1);
  });
});
