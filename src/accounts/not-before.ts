// Logout everywhere sets a per-account instant before which every token is dead, including JWT access tokens that
// no store could delete. Token validation asks here; the lookup is one primary-key read.
import type { PrismaClient } from '../db/generated/client.js';
import { peekMemo } from '../request/memo.js';
import { currentRequest } from '../request/context.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when a token issued at `iat` (epoch seconds) for `accountId` predates the account's logout everywhere. */
export function createNotBeforeCheck(prisma: PrismaClient) {
  return async (accountId: string | undefined, iat: number | undefined): Promise<boolean> => {
    if (!accountId || !UUID.test(accountId) || typeof iat !== 'number') return false;
    // Read with the token's grant earlier in this request, usually (adapters/grant-adapter.ts).
    const known = peekMemo(currentRequest())?.notBefore.get(accountId);
    const notBefore = known !== undefined
      ? known
      : (await prisma.account.findUnique({ where: { id: accountId }, select: { notBefore: true } }))?.notBefore ?? null;
    // iat has one-second resolution: a token from the same second as the logout counts as earlier (the safe side).
    return Boolean(notBefore && iat * 1000 <= notBefore.getTime());
  };
}

export type NotBeforeCheck = ReturnType<typeof createNotBeforeCheck>;
