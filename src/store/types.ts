// The short-lived store: what may be lost without logging anyone out (codes, interactions, sessions, opaque
// access tokens, caches, counters, locks). Two implementations share these semantics exactly and are held to them
// by one conformance suite (test/store/conformance.test.ts): Redis for real deployments, in-process when embedded.

export interface ShortLivedStore {
  readonly kind: 'redis' | 'memory';
  /** What koa-ratelimit needs to share its counters the same way (the Redis client, or an in-process Map). */
  readonly rateLimitDb: { driver: 'redis'; db: unknown } | { driver: 'memory'; db: Map<string, unknown> };
  get(key: string): Promise<string | null>;
  getMany(keys: string[]): Promise<(string | null)[]>;
  /** Sets a value; ttlSeconds undefined means no expiry. */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  /** Sets only if absent; true when this call wrote it. Locks and first-writer-wins caches rest on this. */
  setIfAbsent(key: string, value: string, ttlSeconds: number): Promise<boolean>;
  delete(...keys: string[]): Promise<void>;
  /**
   * Marks `key` consumed, atomically: true for exactly one caller however many race, false for the others and
   * when `key` does not exist. The mark lives as long as the key and is read with consumedAt.
   */
  consume(key: string, at: number): Promise<boolean>;
  consumedAt(key: string): Promise<number | null>;
  /**
   * Fills a mirror entry (a copy of durable state, src/store/mirror.ts), unless it changed since it was read:
   * writes `value` under `key` only when `key`'s version (`versionKey(key)`) is still `seenVersion` (null: none), in
   * one atomic step. A filler that read the durable state before a writer's invalidate loses, so a stale copy cannot
   * land after the writer. True when written.
   */
  fillMirror(key: string, value: string, ttlSeconds: number, seenVersion: string | null): Promise<boolean>;
  /**
   * Invalidates mirror entries, atomically per key: bumps each key's version (kept for ttlSeconds) and deletes it.
   * Writers call it after their durable change committed.
   */
  invalidateMirror(keys: string[], ttlSeconds: number): Promise<void>;
  /** Adds to a set whose lifetime is extended to cover the new member (never shortened). */
  addToSet(key: string, member: string, ttlSeconds?: number): Promise<void>;
  setMembers(key: string): Promise<string[]>;
  /** Increments a counter, starting a window of ttlSeconds on first increment; returns the count and ms left. */
  increment(key: string, ttlSeconds: number): Promise<{ count: number; resetMs: number }>;
  /**
   * Takes one place in every window at once, atomically: either each window had room and its count grew by one
   * (a window starts with its first place and lasts ttlSeconds), or at least one was full and no count changed.
   * However many callers race, on however many instances, no window grants more than `max` places. Rate limits
   * reserve before the work they limit, so that a burst cannot get more work done than the limit allows.
   * `retryAfterMs` is when the full window (the latest, if several) ends; 0 when allowed.
   */
  reserve(windows: RateWindow[]): Promise<{ allowed: boolean; retryAfterMs: number }>;
  /** Gives reserved places back (the work turned out not to count): each count drops by one, never below zero. */
  release(keys: string[]): Promise<void>;
  /**
   * Every live key with its value (a set's members joined by spaces): what this store holds at rest, for an
   * operator's audit and for the test that nothing replayable is kept. A scan: not for request paths.
   */
  entries(): Promise<[string, string][]>;
  /** Sends `message` to the subscribers of `channel` on every instance sharing this store. */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Subscribes to `channel`. Delivery is asynchronous, and only while the subscription is connected: `live` says
   * whether it is, and `epoch` changes each time it is established again, since messages may have been missed
   * meanwhile. What a subscriber trusts because no message said otherwise, it may trust only while `live`, and
   * only from the current epoch.
   */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<Subscription>;
  ping(): Promise<void>;
  /** Closes the store, its subscriptions included. */
  close(): Promise<void>;
}

export interface RateWindow {
  key: string;
  max: number;
  ttlSeconds: number;
}

export interface Subscription {
  readonly live: boolean;
  readonly epoch: number;
  close(): Promise<void>;
}

export const consumedKey = (key: string) => `${key}#consumed`;
/** Where a mirror entry's version lives: next to it (same Redis Cluster slot when the key has a hash tag). */
export const versionKey = (key: string) => `${key}#v`;
