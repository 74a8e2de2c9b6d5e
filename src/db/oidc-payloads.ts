// Housekeeping SQL on oidc-provider's durable payload table (`oidc_payloads`), below the adapters that fill it.
import type { PrismaClient } from './generated/client.js';

/** Removes expired rows in batches, each a short statement, so no long lock is held. Returns rows removed. */
export async function pruneExpiredPayloads(
  prisma: PrismaClient,
  { batchSize = 1000, maxBatches = 1000 } = {},
): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const removed = await prisma.$executeRaw`
      DELETE FROM "oidc_payloads" WHERE ctid IN (
        SELECT ctid FROM "oidc_payloads" WHERE "expires_at" < now() LIMIT ${batchSize})`;
    total += removed;
    if (removed < batchSize) break;
  }
  return total;
}
