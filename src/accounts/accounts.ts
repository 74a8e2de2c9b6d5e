// End-user accounts: username, optional email, argon2id password hash. Also the `findAccount` oidc-provider uses
// to turn a subject into claims.
import type { AuditEvent } from '../audit/audit.js';
import type { PrismaClient } from '../db/generated/client.js';
import { InvalidRequest } from '../errors.js';
import { peekMemo, type MemoAccount } from '../request/memo.js';
import { findAccountById, findAccountByUsername, insertAccount, UUID } from './account-queries.js';
import type { NotBeforeCheck } from './not-before.js';
import { hashPassword, MAX_PASSWORD_LENGTH, verifyPassword } from './passwords.js';

export interface AccountView {
  id: string;
  username: string;
  email: string | null;
}

const USERNAME = /^[A-Za-z0-9._@+-]{1,64}$/;
export const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/** Refuses a password Tollgate would not store (too short, or longer than the hashing bound). */
export function checkNewPassword(password: string): void {
  if (password.length < 8 || password.length > MAX_PASSWORD_LENGTH) {
    throw new InvalidRequest(`password must be 8-${MAX_PASSWORD_LENGTH} characters`);
  }
}

/** Refuses an address that cannot be one. */
export function checkEmail(email: string): void {
  if (!EMAIL.test(email)) throw new InvalidRequest('email is not a valid address');
}

/**
 * Creates an account; `events` (user.created) are written by the same statement, with its id. A username already
 * taken is refused, also when two creations race (ON CONFLICT, not a read before the write).
 */
export async function createAccount(
  prisma: PrismaClient,
  input: { username: string; password: string; email?: string | undefined },
  events: AuditEvent[] = [],
): Promise<AccountView> {
  if (!USERNAME.test(input.username))
    throw new InvalidRequest('username must be 1-64 characters of A-Z a-z 0-9 . _ @ + -');
  checkNewPassword(input.password);
  if (input.email !== undefined) checkEmail(input.email);
  const passwordHash = await hashPassword(input.password);
  const email = input.email ?? null;
  const id = await insertAccount(prisma, { username: input.username, email, passwordHash }, events);
  if (!id) throw new InvalidRequest(`username ${input.username} is taken`);
  return { id, username: input.username, email };
}

/** The account id when the credentials are right and the account enabled; undefined otherwise, at equal cost. */
export async function authenticate(
  prisma: PrismaClient,
  username: string,
  password: string,
): Promise<string | undefined> {
  const row = USERNAME.test(username) ? await findAccountByUsername(prisma, username) : null;
  const ok = await verifyPassword(row?.passwordHash, password);
  return ok && row && !row.disabledAt ? row.id : undefined;
}

/**
 * oidc-provider's findAccount: disabled or deleted accounts are not found, so their tokens stop working. An account
 * already read in this request (see src/request/memo.ts) is not read again. Asked on behalf of an access token
 * (userinfo), the account is not found either when the token predates the account's logout everywhere: that is how
 * an access token outside any refresh-token family (nothing revoked it) stops working at /me.
 */
export function createFindAccount(prisma: PrismaClient, notBefore: NotBeforeCheck) {
  return async (
    ctx: { state?: Record<string, unknown> } | undefined,
    sub: string,
    token?: { kind?: string; iat?: number },
  ) => {
    if (!UUID.test(sub)) return undefined;
    if (token?.kind === 'AccessToken' && (await notBefore(sub, token.iat))) return undefined;
    const memo = peekMemo(ctx)?.accounts.get(sub);
    const row: MemoAccount | null = memo !== undefined ? memo : await findAccountById(prisma, sub);
    if (!row || row.disabledAt) return undefined;
    return {
      accountId: row.id,
      async claims() {
        return {
          sub: row.id,
          preferred_username: row.username,
          ...(row.email ? { email: row.email, email_verified: row.emailVerifiedAt !== null } : undefined),
        };
      },
    };
  };
}
