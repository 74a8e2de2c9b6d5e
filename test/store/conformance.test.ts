// One suite, every ShortLivedStore implementation: the semantics documented in src/store/types.ts, checked
// against the in-process store and against a real Redis (under a key prefix of its own, removed afterwards).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { createMemoryStore } from '../../src/store/memory-store.js';
import { createRedisStore } from '../../src/store/redis-store.js';
import { versionKey, type ShortLivedStore } from '../../src/store/types.js';
import { deleteRedisKeys, listRedisKeys, redisUrl, uniquePrefix } from '../support/postgres.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface StoreUnderTest {
  store: ShortLivedStore;
  /** Removes whatever the run left behind (the store is closed already). */
  cleanup(): Promise<void>;
}

function describeStoreConformance(kind: ShortLivedStore['kind'], open: () => Promise<StoreUnderTest>) {
  describe(`ShortLivedStore conformance: ${kind}`, () => {
    let subject: StoreUnderTest;
    let store: ShortLivedStore;
    let n = 0;
    /** A key no other test in this file touches. */
    const key = (label: string) => `${label}:${++n}`;

    beforeAll(async () => {
      subject = await open();
      store = subject.store;
    });
    afterAll(async () => {
      await store.close();
      await subject.cleanup();
    });

    it('reports its kind and answers ping', async () => {
      expect(store.kind).toBe(kind);
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe('get / getMany / set', () => {
      it('returns null for a missing key and the value once set; set overwrites', async () => {
        const k = key('get');
        expect(await store.get(k)).toBeNull();
        await store.set(k, 'one');
        expect(await store.get(k)).toBe('one');
        await store.set(k, 'two');
        expect(await store.get(k)).toBe('two');
      });

      it('getMany answers in the order asked, null for missing keys, [] for no keys', async () => {
        const [a, b, missing] = [key('many'), key('many'), key('many')];
        await store.set(a, 'A');
        await store.set(b, 'B');
        expect(await store.getMany([b, missing, a])).toEqual(['B', null, 'A']);
        expect(await store.getMany([])).toEqual([]);
      });

      it('a value set with a TTL is readable until it expires, then gone from get and getMany', async () => {
        const k = key('ttl');
        await store.set(k, 'v', 0.2);
        expect(await store.get(k)).toBe('v');
        await sleep(400);
        expect(await store.get(k)).toBeNull();
        expect(await store.getMany([k])).toEqual([null]);
      });

      it('set without a TTL keeps the value and removes an earlier TTL', async () => {
        const k = key('persist');
        await store.set(k, 'short', 0.2);
        await store.set(k, 'forever');
        await sleep(400);
        expect(await store.get(k)).toBe('forever');
      });
    });

    describe('setIfAbsent', () => {
      it('the first writer wins; later writers get false and do not overwrite', async () => {
        const k = key('nx');
        expect(await store.setIfAbsent(k, 'first', 5)).toBe(true);
        expect(await store.setIfAbsent(k, 'second', 5)).toBe(false);
        expect(await store.get(k)).toBe('first');
      });

      it('is false over a value written by set', async () => {
        const k = key('nx');
        await store.set(k, 'existing');
        expect(await store.setIfAbsent(k, 'new', 5)).toBe(false);
        expect(await store.get(k)).toBe('existing');
      });

      it('exactly one of 20 concurrent writers wins, and its value is the one stored', async () => {
        const k = key('nx-race');
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.setIfAbsent(k, `w${i}`, 5)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.get(k)).toBe(`w${results.indexOf(true)}`);
      });

      it('the value expires with its TTL, after which a new writer wins', async () => {
        const k = key('nx-ttl');
        expect(await store.setIfAbsent(k, 'lock-1', 0.2)).toBe(true);
        await sleep(400);
        expect(await store.get(k)).toBeNull();
        expect(await store.setIfAbsent(k, 'lock-2', 5)).toBe(true);
        expect(await store.get(k)).toBe('lock-2');
      });
    });

    describe('fillMirror / invalidateMirror', () => {
      it('a filler that read no version fills; an invalidate deletes the entry and bumps its version', async () => {
        const k = key('mirror');
        const [value, seen] = await store.getMany([k, versionKey(k)]);
        expect([value, seen]).toEqual([null, null]);
        expect(await store.fillMirror(k, 'state-1', 5, seen ?? null)).toBe(true);
        expect(await store.get(k)).toBe('state-1');
        await store.invalidateMirror([k], 5);
        expect(await store.get(k)).toBeNull();
        const version = await store.get(versionKey(k));
        expect(version).not.toBeNull();
        await store.invalidateMirror([k], 5);
        expect(await store.get(versionKey(k))).not.toBe(version);
      });

      it('a filler that read the version before an invalidate cannot write its stale copy', async () => {
        const k = key('mirror');
        const seen = await store.get(versionKey(k)); // the filler reads, then the durable state...
        await store.invalidateMirror([k], 5); // ...a writer commits and invalidates...
        expect(await store.fillMirror(k, 'stale', 5, seen)).toBe(false); // ...the stale copy is refused
        expect(await store.get(k)).toBeNull();
        const now = await store.get(versionKey(k));
        expect(await store.fillMirror(k, 'fresh', 5, now)).toBe(true); // the next filler, after the change, fills
        expect(await store.get(k)).toBe('fresh');
      });

      it('invalidates several keys at once, and entries expire with their TTL', async () => {
        const [a, b] = [key('mirror'), key('mirror')];
        expect(await store.fillMirror(a, 'a', 0.2, null)).toBe(true);
        expect(await store.fillMirror(b, 'b', 5, null)).toBe(true);
        await sleep(400);
        expect(await store.get(a)).toBeNull();
        await store.invalidateMirror([a, b], 5);
        expect(await store.getMany([a, b])).toEqual([null, null]);
        expect(await store.fillMirror(b, 'b', 5, null)).toBe(false);
        await store.invalidateMirror([], 5);
      });
    });

    describe('delete', () => {
      it('deletes every key given, ignores missing ones, and accepts none', async () => {
        const [a, b, c, missing] = [key('del'), key('del'), key('del'), key('del')];
        await Promise.all([store.set(a, '1'), store.set(b, '2'), store.set(c, '3')]);
        await store.delete(a, b, missing);
        expect(await store.getMany([a, b, c])).toEqual([null, null, '3']);
        await expect(store.delete()).resolves.toBeUndefined();
        expect(await store.get(c)).toBe('3');
      });
    });

    describe('consume / consumedAt', () => {
      it('is false for a missing key and leaves no mark', async () => {
        const k = key('consume-missing');
        expect(await store.consume(k, 1_000)).toBe(false);
        expect(await store.consumedAt(k)).toBeNull();
      });

      it('exactly one of 50 concurrent consumers wins; consumedAt returns the winner’s time', async () => {
        const k = key('consume-race');
        await store.set(k, 'code', 60);
        const times = Array.from({ length: 50 }, (_, i) => 1_700_000_000_000 + i);
        const results = await Promise.all(times.map((at) => store.consume(k, at)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.consumedAt(k)).toBe(times[results.indexOf(true)]);
        expect(await store.consume(k, 1)).toBe(false);
        expect(await store.get(k)).toBe('code'); // consuming marks the key, it does not remove it
      });

      it('consumedAt is null until the key is consumed', async () => {
        const k = key('consume-unmarked');
        await store.set(k, 'code', 60);
        expect(await store.consumedAt(k)).toBeNull();
        expect(await store.consume(k, 42)).toBe(true);
        expect(await store.consumedAt(k)).toBe(42);
      });

      it('the consumed mark expires with the key', async () => {
        const k = key('consume-ttl');
        await store.set(k, 'code', 0.2);
        expect(await store.consume(k, 1_234)).toBe(true);
        expect(await store.consumedAt(k)).toBe(1_234);
        await sleep(400);
        expect(await store.consumedAt(k)).toBeNull();
        expect(await store.consume(k, 5_678)).toBe(false); // the key is gone too
      });
    });

    describe('addToSet / setMembers', () => {
      const members = async (k: string) => (await store.setMembers(k)).sort();

      it('collects distinct members; a missing set has none', async () => {
        const k = key('set');
        expect(await store.setMembers(k)).toEqual([]);
        await store.addToSet(k, 'b', 60);
        await store.addToSet(k, 'a', 60);
        await store.addToSet(k, 'b', 60);
        expect(await members(k)).toEqual(['a', 'b']);
      });

      it('a set created with a TTL expires', async () => {
        const k = key('set-ttl');
        await store.addToSet(k, 'a', 0.2);
        expect(await members(k)).toEqual(['a']);
        await sleep(400);
        expect(await store.setMembers(k)).toEqual([]);
      });

      it('a shorter TTL never shortens the set’s lifetime', async () => {
        const k = key('set-keep');
        await store.addToSet(k, 'a', 5);
        await store.addToSet(k, 'b', 0.2);
        await sleep(400);
        expect(await members(k)).toEqual(['a', 'b']);
      });

      it('a longer TTL extends the set’s lifetime, which still ends', async () => {
        const k = key('set-extend');
        await store.addToSet(k, 'a', 0.3);
        await store.addToSet(k, 'b', 0.9);
        await sleep(500);
        expect(await members(k)).toEqual(['a', 'b']);
        await sleep(700);
        expect(await store.setMembers(k)).toEqual([]);
      });

      it('without a TTL the set no longer expires', async () => {
        const k = key('set-persist');
        await store.addToSet(k, 'a', 0.2);
        await store.addToSet(k, 'b');
        await sleep(400);
        expect(await members(k)).toEqual(['a', 'b']);
      });
    });

    describe('increment', () => {
      it('counts within the window and reports the time left in it', async () => {
        const k = key('incr');
        const first = await store.increment(k, 60);
        expect(first.count).toBe(1);
        expect(first.resetMs).toBeGreaterThan(59_900);
        expect(first.resetMs).toBeLessThanOrEqual(60_000);
        await sleep(50);
        const second = await store.increment(k, 60);
        expect(second.count).toBe(2);
        expect(second.resetMs).toBeLessThanOrEqual(first.resetMs - 40); // the window is not restarted
        expect(second.resetMs).toBeGreaterThan(59_000);
        expect((await store.increment(k, 60)).count).toBe(3);
      });

      it('restarts at 1 with a full window once the window has passed', async () => {
        const k = key('incr-window');
        await store.increment(k, 0.2);
        expect((await store.increment(k, 0.2)).count).toBe(2);
        await sleep(400);
        const restarted = await store.increment(k, 0.2);
        expect(restarted.count).toBe(1);
        expect(restarted.resetMs).toBeGreaterThan(150);
        expect(restarted.resetMs).toBeLessThanOrEqual(200);
      });

      it('accepts a window that is not a whole number of milliseconds, as every TTL does', async () => {
        const k = key('incr-fraction');
        const first = await store.increment(k, 0.2005);
        expect(first.count).toBe(1);
        expect(first.resetMs).toBeGreaterThan(150);
        expect(first.resetMs).toBeLessThanOrEqual(201);
        await sleep(400);
        expect((await store.increment(k, 0.2005)).count).toBe(1); // the window did end
      });
    });

    describe('reserve / release', () => {
      const window = (k: string, max: number, ttlSeconds = 60) => ({ key: k, max, ttlSeconds });

      it('grants at most max places per window however many callers race, and says when the window ends', async () => {
        const k = key('reserve');
        const results = await Promise.all(Array.from({ length: 60 }, () => store.reserve([window(k, 7)])));
        expect(results.filter((r) => r.allowed)).toHaveLength(7);
        for (const r of results) {
          if (r.allowed) expect(r.retryAfterMs).toBe(0);
          else {
            expect(r.retryAfterMs).toBeGreaterThan(59_000);
            expect(r.retryAfterMs).toBeLessThanOrEqual(60_000);
          }
        }
      });

      it('takes a place in every window or in none: a full window leaves the others untouched', async () => {
        const [wide, narrow] = [key('reserve-wide'), key('reserve-narrow')];
        expect((await store.reserve([window(narrow, 1)])).allowed).toBe(true);
        const refused = await store.reserve([window(wide, 5), window(narrow, 1, 30)]);
        expect(refused.allowed).toBe(false);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000); // the narrow window began with 60 s
        // Nothing was taken from the wide window: five places are still there.
        const five = await Promise.all(Array.from({ length: 6 }, () => store.reserve([window(wide, 5)])));
        expect(five.filter((r) => r.allowed)).toHaveLength(5);
      });

      it('across several windows at once, under a race, no window grants more than its max', async () => {
        const [pair, address] = [key('reserve-pair'), key('reserve-address')];
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            store.reserve(i % 2 ? [window(pair, 3), window(address, 10)] : [window(address, 10)]),
          ),
        );
        const allowed = results.map((r, i) => ({ allowed: r.allowed, pair: i % 2 === 1 }));
        expect(allowed.filter((r) => r.allowed && r.pair).length).toBeLessThanOrEqual(3);
        expect(allowed.filter((r) => r.allowed)).toHaveLength(10);
      });

      it('release gives a place back, never below zero, and keeps the window', async () => {
        const k = key('release');
        expect((await store.reserve([window(k, 2)])).allowed).toBe(true);
        expect((await store.reserve([window(k, 2)])).allowed).toBe(true);
        expect((await store.reserve([window(k, 2)])).allowed).toBe(false);
        await store.release([k]);
        expect((await store.reserve([window(k, 2)])).allowed).toBe(true);
        const ends = (await store.reserve([window(k, 2)])).retryAfterMs;
        expect(ends).toBeGreaterThan(59_000); // the window was not restarted by release
        await store.release([k, k, k, key('release-missing')]);
        expect(await store.get(k)).toBe('0');
        expect((await store.reserve([window(k, 2)])).allowed).toBe(true);
      });

      it('a window ends with its TTL, and a new one starts with its next place', async () => {
        const k = key('reserve-ttl');
        expect((await store.reserve([window(k, 1, 0.2)])).allowed).toBe(true);
        const refused = await store.reserve([window(k, 1, 0.2)]);
        expect(refused.allowed).toBe(false);
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(200);
        await sleep(400);
        expect((await store.reserve([window(k, 1, 0.2)])).allowed).toBe(true);
      });

      it('no windows: allowed', async () => {
        expect(await store.reserve([])).toEqual({ allowed: true, retryAfterMs: 0 });
        await expect(store.release([])).resolves.toBeUndefined();
      });
    });

    describe('entries', () => {
      it('lists every live key with its value, sets as their members, without expired keys', async () => {
        const [plain, members, gone] = [key('entries'), key('entries-set'), key('entries-gone')];
        await store.set(plain, 'visible value');
        await store.addToSet(members, 'm1');
        await store.addToSet(members, 'm2');
        await store.set(gone, 'short', 0.05);
        await sleep(150);
        const all = new Map(await store.entries());
        expect(all.get(plain)).toBe('visible value');
        expect(all.get(members)?.split(' ').sort()).toEqual(['m1', 'm2']);
        expect(all.has(gone)).toBe(false);
      });
    });

    describe('publish / subscribe', () => {
      const until = async (check: () => boolean) => {
        for (let i = 0; i < 100 && !check(); i++) await sleep(10);
        return check();
      };

      it("delivers to the channel's subscribers only, while subscribed; a subscription is live from the start", async () => {
        const channel = key('channel');
        const heard: string[] = [];
        const other: string[] = [];
        const sub = await store.subscribe(channel, (m) => heard.push(m));
        const elsewhere = await store.subscribe(key('other-channel'), (m) => other.push(m));
        expect(sub.live).toBe(true);
        await store.publish(channel, 'one');
        expect(await until(() => heard.length === 1)).toBe(true);
        await sub.close();
        expect(sub.live).toBe(false);
        await store.publish(channel, 'two');
        await sleep(50);
        expect(heard).toEqual(['one']);
        expect(other).toEqual([]);
        await elsewhere.close();
      });
    });
  });
}

describeStoreConformance('memory', async () => ({
  store: createMemoryStore(),
  cleanup: async () => {},
}));

const prefix = uniquePrefix();
describeStoreConformance('redis', async () => ({
  store: await createRedisStore({ url: redisUrl(), prefix }),
  cleanup: () => deleteRedisKeys(prefix),
}));

describe('Redis store key prefix', () => {
  it('keeps every key, consumed marks included, under its prefix', async () => {
    const own = uniquePrefix();
    const store = await createRedisStore({ url: redisUrl(), prefix: own });
    try {
      await store.set('code', 'v', 60);
      await store.consume('code', 1);
      await store.addToSet('family', 'm', 60);
      await store.increment('counter', 60);
      expect(await listRedisKeys(own)).toEqual([`${own}code`, `${own}code#consumed`, `${own}counter`, `${own}family`]);
    } finally {
      await store.close();
      await deleteRedisKeys(own);
    }
    expect(await listRedisKeys(own)).toEqual([]);
  });
});

describe('Redis store publish / subscribe across instances', () => {
  const sleep2 = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const until = async (check: () => boolean, ms = 3000) => {
    for (let waited = 0; waited < ms && !check(); waited += 10) await sleep2(10);
    return check();
  };

  it('reaches every store on the same prefix and none on another', async () => {
    const shared = uniquePrefix();
    const [a, b, stranger] = await Promise.all(
      [shared, shared, uniquePrefix()].map((p) => createRedisStore({ url: redisUrl(), prefix: p })),
    );
    try {
      const heard = { b: [] as string[], stranger: [] as string[] };
      await b!.subscribe('news', (m) => heard.b.push(m));
      await stranger!.subscribe('news', (m) => heard.stranger.push(m));
      await a!.publish('news', 'hello');
      expect(await until(() => heard.b.length === 1)).toBe(true);
      await sleep2(50);
      expect(heard).toEqual({ b: ['hello'], stranger: [] });
    } finally {
      await Promise.all([a, b, stranger].map((s) => s!.close()));
    }
  });

  it('is not live while its connection is down, and comes back under a new epoch', async () => {
    const own = uniquePrefix();
    const store = await createRedisStore({ url: redisUrl(), prefix: own });
    const admin = await createRedisStore({ url: redisUrl(), prefix: uniquePrefix() });
    try {
      const heard: string[] = [];
      const sub = await store.subscribe('news', (m) => heard.push(m));
      const before = sub.epoch;
      // Kill exactly this subscriber's connection, found by the name the store gives it.
      const clients = String(await admin.client.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
      const line = clients.split('\n').find((l) => l.includes(` name=${own}subscriber `));
      expect(line).toBeDefined();
      await admin.client.call('CLIENT', 'KILL', 'ID', /\bid=(\d+)/.exec(line!)![1]!);
      expect(await until(() => !sub.live, 1000)).toBe(true);
      expect(await until(() => sub.live)).toBe(true);
      expect(sub.epoch).toBeGreaterThan(before);
      await store.publish('news', 'after');
      expect(await until(() => heard.includes('after'))).toBe(true);
    } finally {
      await store.close();
      await admin.close();
    }
  });
});
