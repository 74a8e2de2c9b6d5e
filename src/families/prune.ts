// Storage hygiene: dead refresh-token families (with their tokens) and expired durable payloads are removed in
// small batches. `tokens prune` runs it on demand; every instance runs a periodic job, but only the one that takes
// the lock in the short-lived store for the current interval does the work.
import { randomUUID } from 'node:crypto';

import type { PrismaClient } from '../db/generated/client.js';
import type { Logger } from '../observability/logger.js';
import type { ShortLivedStore } from '../store/types.js';
import { pruneExpiredPayloads } from '../db/oidc-payloads.js';
import { pruneDeadFamilies } from './repository.js';

export interface PruneResult {
  families: number;
  payloads: number;
}

export async function pruneExpired(prisma: PrismaClient, { batchSize = 500 } = {}): Promise<PruneResult> {
  const families = await pruneDeadFamilies(prisma, { batchSize });
  const payloads = await pruneExpiredPayloads(prisma, { batchSize });
  return { families, payloads };
}

const LOCK_KEY = 'job:prune';

export interface PruneJobDeps {
  store: ShortLivedStore;
  logger: Logger;
  intervalSeconds: number;
  prune: () => Promise<PruneResult>;
}

/** Runs `prune` every interval on whichever instance takes the store lock first; returns a stop function. */
export function startPruneJob({ store, logger, intervalSeconds, prune }: PruneJobDeps): () => void {
  if (intervalSeconds <= 0) return () => {};
  const me = randomUUID();
  const tick = async () => {
    try {
      // Held slightly shorter than the interval so the next tick (on any instance) can take it again.
      if (!(await store.setIfAbsent(LOCK_KEY, me, Math.max(1, intervalSeconds * 0.9)))) return;
      const removed = await prune();
      if (removed.families || removed.payloads)
        logger.info({ removed }, 'pruned expired refresh-token families and payloads');
    } catch (err) {
      logger.warn({ err }, 'prune job failed; will retry next interval');
    }
  };
  const timer = setInterval(() => void tick(), intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
