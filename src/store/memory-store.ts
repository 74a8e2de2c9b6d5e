// In-process short-lived store for the embedded default (no REDIS_URL). A single Node process is single-threaded,
// so every operation below is atomic by construction; expiry is checked on read and swept periodically.
import { EventEmitter } from 'node:events';

import { consumedKey, versionKey, type ShortLivedStore } from './types.js';

interface Entry {
  value: string | Set<string>;
  expiresAt: number; // ms epoch; Infinity for no expiry
}

const expiry = (ttlSeconds?: number) => (ttlSeconds === undefined ? Infinity : Date.now() + ttlSeconds * 1000);

export function createMemoryStore({ sweepIntervalMs = 30_000 } = {}): ShortLivedStore {
  const entries = new Map<string, Entry>();
  // One process: a message reaches every subscriber before publish returns, and none can be missed.
  const channels = new EventEmitter().setMaxListeners(0);

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  const read = (key: string): string | null => {
    const value = live(key)?.value;
    return typeof value === 'string' ? value : null;
  };

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key);
  }, sweepIntervalMs);
  sweep.unref();

  return {
    kind: 'memory',
    rateLimitDb: { driver: 'memory', db: new Map() },
    async get(key) {
      return read(key);
    },
    async getMany(keys) {
      return keys.map(read);
    },
    async set(key, value, ttlSeconds) {
      entries.set(key, { value, expiresAt: expiry(ttlSeconds) });
    },
    async setIfAbsent(key, value, ttlSeconds) {
      if (live(key)) return false;
      entries.set(key, { value, expiresAt: expiry(ttlSeconds) });
      return true;
    },
    async delete(...keys) {
      for (const key of keys) entries.delete(key);
    },
    async consume(key, at) {
      const entry = live(key);
      if (!entry || live(consumedKey(key))) return false;
      entries.set(consumedKey(key), { value: String(at), expiresAt: entry.expiresAt });
      return true;
    },
    async consumedAt(key) {
      const value = read(consumedKey(key));
      return value === null ? null : Number(value);
    },
    async fillMirror(key, value, ttlSeconds, seenVersion) {
      if (read(versionKey(key)) !== seenVersion) return false;
      entries.set(key, { value, expiresAt: expiry(ttlSeconds) });
      return true;
    },
    async invalidateMirror(keys, ttlSeconds) {
      for (const key of keys) {
        entries.set(versionKey(key), {
          value: String(Number(read(versionKey(key)) ?? 0) + 1),
          expiresAt: expiry(ttlSeconds),
        });
        entries.delete(key);
      }
    },
    async addToSet(key, member, ttlSeconds) {
      const entry = live(key);
      const set = entry?.value instanceof Set ? entry.value : new Set<string>();
      set.add(member);
      entries.set(key, { value: set, expiresAt: Math.max(entry?.expiresAt ?? 0, expiry(ttlSeconds)) });
    },
    async setMembers(key) {
      const value = live(key)?.value;
      return value instanceof Set ? [...value] : [];
    },
    async increment(key, ttlSeconds) {
      const entry = live(key);
      if (!entry) {
        entries.set(key, { value: '1', expiresAt: expiry(ttlSeconds) });
        return { count: 1, resetMs: ttlSeconds * 1000 };
      }
      const count = Number(entry.value) + 1;
      entry.value = String(count);
      return { count, resetMs: Math.max(0, entry.expiresAt - Date.now()) };
    },
    async reserve(windows) {
      const now = Date.now();
      const full = windows
        .map((w) => ({ w, entry: live(w.key) }))
        .filter(({ w, entry }) => Number(entry?.value ?? 0) >= w.max);
      if (full.length) {
        const ends = full.map(({ w, entry }) =>
          entry && entry.expiresAt !== Infinity ? entry.expiresAt - now : w.ttlSeconds * 1000,
        );
        return { allowed: false, retryAfterMs: Math.max(1, ...ends) };
      }
      for (const w of windows) {
        const entry = live(w.key);
        if (entry) entry.value = String(Number(entry.value) + 1);
        else entries.set(w.key, { value: '1', expiresAt: expiry(w.ttlSeconds) });
      }
      return { allowed: true, retryAfterMs: 0 };
    },
    async release(keys) {
      for (const key of keys) {
        const entry = live(key);
        if (entry && typeof entry.value === 'string' && Number(entry.value) > 0)
          entry.value = String(Number(entry.value) - 1);
      }
    },
    async entries() {
      const out: [string, string][] = [];
      for (const key of [...entries.keys()]) {
        const value = live(key)?.value;
        if (value !== undefined) out.push([key, typeof value === 'string' ? value : [...value].join(' ')]);
      }
      return out;
    },
    async publish(channel, message) {
      channels.emit(channel, message);
    },
    async subscribe(channel, onMessage) {
      channels.on(channel, onMessage);
      const subscription = {
        live: true,
        epoch: 0,
        async close() {
          subscription.live = false;
          channels.off(channel, onMessage);
        },
      };
      return subscription;
    },
    async ping() {},
    async close() {
      clearInterval(sweep);
      entries.clear();
      channels.removeAllListeners();
    },
  };
}
