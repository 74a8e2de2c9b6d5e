import type { Config } from '../config.js';
import { createMemoryStore } from './memory-store.js';
import { createRedisStore } from './redis-store.js';
import type { ShortLivedStore } from './types.js';

export type { ShortLivedStore } from './types.js';

/** REDIS_URL set: Redis, shared by every instance. Unset: the in-process store of the embedded default. */
export async function openStore(
  config: Pick<Config, 'redisUrl' | 'redisKeyPrefix' | 'storeCommandTimeoutMs'>,
): Promise<ShortLivedStore> {
  if (!config.redisUrl) return createMemoryStore();
  return createRedisStore({
    url: config.redisUrl,
    prefix: config.redisKeyPrefix,
    commandTimeoutMs: config.storeCommandTimeoutMs,
  });
}
