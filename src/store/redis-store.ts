// Redis-backed short-lived store. Commands fail fast when Redis is away (no offline queue, bounded retries and a
// command timeout) so that requests answer 503 quickly instead of hanging; ioredis reconnects on its own.
import { Redis, ReplyError } from 'ioredis';

import { DependencyUnavailable, unreachable, type DependencyFailureReason } from '../errors.js';
import { consumedKey, versionKey, type ShortLivedStore, type Subscription } from './types.js';

// The consumed mark inherits the key's remaining lifetime; one script so no caller can see a half-done consume.
const CONSUME = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 or ttl == 0 then return 0 end
local ok
if ttl > 0 then ok = redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ttl)
else ok = redis.call('SET', KEYS[2], ARGV[1], 'NX') end
if ok then return 1 end
return 0`;

// SADD and extend the expiry to cover the new member, never shortening it; ttl -1 keeps it persistent. The TTL is
// read before SADD: afterwards a set that SADD just created (-2) looks like a persistent one (-1).
const ADD_TO_SET = `
local ttl = redis.call('PTTL', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
local want = tonumber(ARGV[2])
if want < 0 then redis.call('PERSIST', KEYS[1]) return 1 end
if ttl == -2 or (ttl >= 0 and ttl < want) then redis.call('PEXPIRE', KEYS[1], want) end
return 1`;

const INCREMENT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;

// A mirror entry is written only while its version is the one its filler read before reading the durable state.
const FILL_MIRROR = `
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

// KEYS: entry, version, entry, version...; each version bumped (and kept ARGV[1] ms), each entry deleted.
const INVALIDATE_MIRROR = `
for i = 1, #KEYS, 2 do
  redis.call('INCR', KEYS[i + 1])
  redis.call('PEXPIRE', KEYS[i + 1], ARGV[1])
  redis.call('DEL', KEYS[i])
end
return 1`;

// Checks every window first and increments only when all have room: all places or none. ARGV holds max and
// window length (ms) for each key, in turn. A full window without an expiry (never made here) waits a whole window.
const RESERVE = `
local wait = -1
for i = 1, #KEYS do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= tonumber(ARGV[2 * i - 1]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then ttl = tonumber(ARGV[2 * i]) end
    if ttl > wait then wait = ttl end
  end
end
if wait >= 0 then return {0, math.max(wait, 1)} end
for i = 1, #KEYS do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[2 * i]) end
end
return {1, 0}`;

// DECR keeps the key's expiry; a count already at zero (or gone) is left alone.
const RELEASE = `
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 1`;

// Replies that mean "Redis cannot serve now" (its own error codes, the first word of the reply), not "this command
// is wrong": a script or type error (WRONGTYPE, NOSCRIPT...) stays what it is, a bug, and answers 500.
const UNAVAILABLE_REPLIES = new Set(['LOADING', 'BUSY', 'MASTERDOWN', 'READONLY', 'CLUSTERDOWN', 'TRYAGAIN', 'OOM']);

/**
 * Store failures classified where they happen. Every ioredis failure that is not a reply from Redis means Redis did
 * not answer: the connection is down and commands fail at once (no offline queue), the retries ran out, or the
 * command timed out. ioredis gives those no codes of their own (a refused connection keeps the socket's), so only
 * the metric's reason label reads which one it was.
 */
export function classifyStoreFailure(err: unknown): unknown {
  if (err instanceof DependencyUnavailable || err instanceof TypeError || err instanceof RangeError) return err;
  if (err instanceof ReplyError) {
    const code = String((err as Error).message).split(' ', 1)[0] ?? '';
    return UNAVAILABLE_REPLIES.has(code) ? new DependencyUnavailable('store', 'other', err) : err;
  }
  if (!(err instanceof Error)) return err;
  const { code, name, message } = err as Error & { code?: unknown };
  let reason: DependencyFailureReason = 'other';
  if (code === 'ECONNREFUSED') reason = 'connection_refused';
  else if (code === 'ECONNRESET' || code === 'EPIPE') reason = 'connection_lost';
  else if (code === 'ETIMEDOUT' || /timed out/i.test(message)) reason = 'timeout';
  else if (name === 'MaxRetriesPerRequestError' || /Connection is closed|isn't writeable/i.test(message))
    reason = 'not_connected';
  return new DependencyUnavailable('store', reason, err);
}

const rethrowClassified = (err: unknown): never => {
  throw classifyStoreFailure(err);
};

/** `target` with each method's rejections classified (for the store's own methods, and the client koa-ratelimit uses). */
function classifying<T extends object>(target: T): T {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(object, args);
        return result instanceof Promise ? result.catch(rethrowClassified) : result;
      };
    },
  });
}

export interface RedisStoreOptions {
  url: string;
  prefix?: string;
  commandTimeoutMs?: number;
}

export async function createRedisStore({
  url,
  prefix = 'tg:',
  commandTimeoutMs = 1000,
}: RedisStoreOptions): Promise<ShortLivedStore & { client: Redis }> {
  const client = new Redis(url, {
    keyPrefix: prefix,
    lazyConnect: true,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    connectTimeout: commandTimeoutMs * 2,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  // Surfaced per command; the reconnect loop handles the connection itself. The last one explains a failed start
  // (connect() itself rejects only with "Connection is closed.").
  let lastError: unknown;
  client.on('error', (err) => (lastError = err));
  // Scripts go by their SHA (EVALSHA, loaded on first use): their text is not sent and hashed on every call.
  client.defineCommand('tgConsume', { numberOfKeys: 2, lua: CONSUME });
  client.defineCommand('tgAddToSet', { numberOfKeys: 1, lua: ADD_TO_SET });
  client.defineCommand('tgIncrement', { numberOfKeys: 1, lua: INCREMENT });
  client.defineCommand('tgReserve', { lua: RESERVE }); // key count given per call
  client.defineCommand('tgRelease', { lua: RELEASE });
  client.defineCommand('tgFillMirror', { numberOfKeys: 2, lua: FILL_MIRROR });
  client.defineCommand('tgInvalidateMirror', { lua: INVALIDATE_MIRROR }); // key count given per call
  const scripts = client as unknown as Record<
    'tgConsume' | 'tgAddToSet' | 'tgIncrement' | 'tgReserve' | 'tgRelease' | 'tgFillMirror' | 'tgInvalidateMirror',
    (...args: (string | number)[]) => Promise<unknown>
  >;
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw unreachable('Redis', url, 'REDIS_URL', lastError ?? err);
  }
  const subscribers = new Set<Redis>();

  /**
   * A subscription on a connection of its own (a subscribed connection can do nothing else). Channels are not
   * keys, so ioredis does not prefix them: the store's prefix is added here, keeping deployments (and test runs)
   * that share a Redis apart. After a reconnection the channel is subscribed again, and only once Redis has
   * confirmed it does the subscription count as live, under a new epoch.
   */
  async function subscribe(channel: string, onMessage: (message: string) => void): Promise<Subscription> {
    const name = `${prefix}${channel}`;
    const sub = client.duplicate({
      keyPrefix: '',
      lazyConnect: true,
      enableOfflineQueue: true,
      autoResubscribe: false,
      commandTimeout: undefined,
      // Visible in CLIENT LIST. Redis refuses a name with spaces or control characters (and so the connection).
      connectionName: `${prefix}subscriber`.replace(/[^\x21-\x7e]/g, '_'),
    });
    subscribers.add(sub);
    let live = false;
    let epoch = 0;
    let closed = false;
    sub.on('error', () => {}); // the state below says what matters; reconnection is ioredis's
    sub.on('message', (from: string, message: string) => {
      if (from === name) onMessage(message);
    });
    for (const event of ['close', 'end', 'reconnecting']) sub.on(event, () => (live = false));
    const establish = async () => {
      try {
        await sub.subscribe(name);
        if (!closed && sub.status === 'ready') {
          epoch += 1;
          live = true;
        }
      } catch {
        live = false; // the next 'ready' tries again
      }
    };
    let established = Promise.resolve();
    sub.on('ready', () => {
      established = establish(); // the first connection, and each reconnection
    });
    // Redis away at start-up: not live yet, lookups read the version meanwhile, and ioredis keeps trying.
    await sub.connect().catch(() => {});
    await established;
    return {
      get live() {
        return live;
      },
      get epoch() {
        return epoch;
      },
      async close() {
        closed = true;
        live = false;
        subscribers.delete(sub);
        sub.disconnect();
      },
    };
  }

  // Every method's failures leave classified; `client` stays raw for the tests and tools that inspect Redis.
  return classifying({
    kind: 'redis' as const,
    client,
    rateLimitDb: { driver: 'redis', db: classifying(client) },
    async get(key) {
      return client.get(key);
    },
    async getMany(keys) {
      return keys.length ? client.mget(...keys) : [];
    },
    async set(key, value, ttlSeconds) {
      if (ttlSeconds === undefined) await client.set(key, value);
      else await client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlSeconds * 1000)));
    },
    async setIfAbsent(key, value, ttlSeconds) {
      return (await client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlSeconds * 1000)), 'NX')) === 'OK';
    },
    async delete(...keys) {
      if (keys.length) await client.del(...keys);
    },
    async consume(key, at) {
      return (await scripts.tgConsume(key, consumedKey(key), String(at))) === 1;
    },
    async consumedAt(key) {
      const value = await client.get(consumedKey(key));
      return value === null ? null : Number(value);
    },
    async fillMirror(key, value, ttlSeconds, seenVersion) {
      const ttlMs = String(Math.max(1, Math.ceil(ttlSeconds * 1000)));
      return (await scripts.tgFillMirror(key, versionKey(key), value, ttlMs, seenVersion ?? '')) === 1;
    },
    async invalidateMirror(keys, ttlSeconds) {
      if (!keys.length) return;
      const ttlMs = String(Math.max(1, Math.ceil(ttlSeconds * 1000)));
      await scripts.tgInvalidateMirror(keys.length * 2, ...keys.flatMap((k) => [k, versionKey(k)]), ttlMs);
    },
    async addToSet(key, member, ttlSeconds) {
      const ttlMs = ttlSeconds === undefined ? -1 : Math.max(1, Math.ceil(ttlSeconds * 1000));
      await scripts.tgAddToSet(key, member, String(ttlMs));
    },
    async setMembers(key) {
      return client.smembers(key);
    },
    async increment(key, ttlSeconds) {
      const ttlMs = Math.max(1, Math.ceil(ttlSeconds * 1000)); // PEXPIRE takes whole milliseconds only
      const [count, ttl] = (await scripts.tgIncrement(key, String(ttlMs))) as [number, number];
      return { count, resetMs: Math.max(0, ttl) };
    },
    async reserve(windows) {
      if (!windows.length) return { allowed: true, retryAfterMs: 0 };
      const args = windows.flatMap((w) => [String(w.max), String(Math.max(1, Math.ceil(w.ttlSeconds * 1000)))]);
      const [allowed, wait] = (await scripts.tgReserve(windows.length, ...windows.map((w) => w.key), ...args)) as [
        number,
        number,
      ];
      return { allowed: allowed === 1, retryAfterMs: wait };
    },
    async release(keys) {
      if (keys.length) await scripts.tgRelease(keys.length, ...keys);
    },
    async entries() {
      // SCAN matches whole key names, which carry the prefix; commands add it themselves, so it is taken off.
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await client.scan(
          cursor,
          'MATCH',
          `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`,
          'COUNT',
          500,
        );
        cursor = next;
        keys.push(...batch.map((k) => k.slice(prefix.length)));
      } while (cursor !== '0');
      const out: [string, string][] = [];
      for (const key of [...new Set(keys)]) {
        const type = await client.type(key);
        if (type === 'string') {
          const value = await client.get(key);
          if (value !== null) out.push([key, value]);
        } else if (type === 'set') out.push([key, (await client.smembers(key)).join(' ')]);
        else if (type !== 'none') out.push([key, `(${type})`]);
      }
      return out;
    },
    async publish(channel, message) {
      await client.publish(`${prefix}${channel}`, message);
    },
    subscribe,
    async ping() {
      await client.ping();
    },
    async close() {
      for (const sub of subscribers) sub.disconnect();
      subscribers.clear();
      client.disconnect();
    },
  });
}
