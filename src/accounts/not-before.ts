// Whether an account's tokens still count. Logout everywhere sets a per-account instant before which every token is
// dead, including JWT access tokens that no store could delete; a disabled or deleted account has no live token at
// all. Token validation (introspection, the browser-session policy) asks here; the answer comes from the request's
// memo, else the store's copy of the account, else one primary-key read that fills the copy.
import type { PrismaClient } from '../db/generated/client.js';
import { peekMemo, type AccountGate } from '../request/memo.js';
import { currentRequest } from '../request/context.js';
import type { Mirror } from '../store/mirror.js';
import { findAccountGate, UUID } from './account-queries.js';

/**
 * True when a token issued at `iat` (epoch seconds) for `accountId` is dead: its account is disabled or gone, or it
 * predates the account's logout everywhere. Tokens of no account (client_credentials) are not concerned.
 */
/** The account's state in PostgreSQL (null: gone): what the store's copy of it is filled with. */
export async function loadAccountState(prisma: PrismaClient, accountId: string): Promise<AccountGate | null> {
  const row = await findAccountGate(prisma, accountId);
  return row && { notBefore: row.notBefore, disabled: row.disabledAt !== null };
}

export function createNotBeforeCheck(prisma: PrismaClient, mirror: Mirror) {
  const load = (accountId: string) => loadAccountState(prisma, accountId);
  return async (accountId: string | undefined, iat: number | undefined): Promise<boolean> => {
    if (!accountId || !UUID.test(accountId)) return false;
    // Read with the token's grant earlier in this request (adapters/grant-adapter.ts, access-token-status.ts), else
    // the store's copy of the account (src/store/mirror.ts, which every change of these columns ends), else PostgreSQL.
    let gate: AccountGate | null | undefined = peekMemo(currentRequest())?.notBefore.get(accountId);
    if (gate === undefined) gate = await mirror.account(accountId, () => load(accountId));
    if (!gate || gate.disabled) return true;
    if (typeof iat !== 'number') return false;
    // iat has one-second resolution: a token from the same second as the logout counts as earlier (the safe side).
    return Boolean(gate.notBefore && iat * 1000 <= gate.notBefore.getTime());
  };
}

export type NotBeforeCheck = ReturnType<typeof createNotBeforeCheck>;
