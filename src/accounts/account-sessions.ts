// The account page's own sign-in. Signing in to /account starts a refresh-token family like any application's
// sign-in, for the internal client `tollgate-account`: the account page is then one of the user's devices, listed
// with the others, marked as the current one, signed out with them (logout everywhere, disabling, another device's
// "sign out"). The browser holds the family's token in an HttpOnly cookie scoped to /account; only its HMAC is
// stored, as for every refresh token. No other client can present it: its family has no grant.
import { randomBytes, randomUUID } from 'node:crypto';

import type { Context } from 'koa';

import type { Actor } from '../audit/actor.js';
import type { PrismaClient } from '../db/generated/client.js';
import type { TokenHasher } from '../crypto/token-hash.js';
import type { Families } from '../families/families.js';
import { touchFamily } from '../families/repository.js';
import { deviceOf } from '../request/device.js';
import { epochNow } from '../store/payload.js';

export const ACCOUNT_CLIENT_ID = 'tollgate-account';

/** The user themselves as the actor of a change, from this request's device. */
export const selfActor = (via: 'account_page' | 'password_reset' | 'email_link', ctx: Context): Actor => ({
  via,
  ...deviceOf(ctx),
});
const COOKIE = 'tg_account';
/** An account-page session lasts this long from its sign-in, however active: it can change the password. */
/** The account page's cookies: its own path, script-proof, sent on top-level navigation only, unsigned (random values). */
export const accountPageCookie = (ctx: Context) =>
  ({ httpOnly: true, sameSite: 'lax', secure: ctx.secure, path: '/account', signed: false, overwrite: true }) as const;

export const ACCOUNT_SESSION_SECONDS = 12 * 3600;

export interface AccountSession {
  accountId: string;
  familyId: string;
  username: string;
}

export interface AccountSessionDeps {
  prisma: PrismaClient;
  families: Families;
  hash: TokenHasher;
}

/** Starts the account page's family for this browser and sets its cookie. */
export async function startAccountSession(
  { families, hash }: AccountSessionDeps,
  ctx: Context,
  accountId: string,
): Promise<void> {
  const token = randomBytes(32).toString('base64url');
  const iat = epochNow();
  await families.start({
    tokenId: token,
    payload: {
      kind: 'RefreshToken',
      accountId,
      clientId: ACCOUNT_CLIENT_ID,
      grantId: hash(`account-page:${randomUUID()}`),
      iat,
      exp: iat + ACCOUNT_SESSION_SECONDS,
    },
    ...deviceOf(ctx),
    accessTokenKeys: [],
    accessTokenTtl: 0,
  });
  ctx.cookies.set(COOKIE, token, { ...accountPageCookie(ctx), maxAge: ACCOUNT_SESSION_SECONDS * 1000 });
}

/** The signed-in user of this browser's account page: a live family of the account page, of an enabled account. */
export async function currentAccountSession(
  { families }: AccountSessionDeps,
  ctx: Context,
): Promise<AccountSession | undefined> {
  const token = ctx.cookies.get(COOKIE);
  if (!token || !/^[\w-]{43}$/.test(token)) return undefined;
  const row = await families.findToken(token);
  const now = Date.now();
  if (!row || row.family.clientId !== ACCOUNT_CLIENT_ID || row.family.revokedAt || row.consumedAt) return undefined;
  if (row.family.idleExpiresAt.getTime() <= now || row.family.expiresAt.getTime() <= now) return undefined;
  if (!row.account || row.account.disabledAt) return undefined;
  return { accountId: row.account.id, familyId: row.family.id, username: row.account.username };
}

export function clearAccountSession(ctx: Context): void {
  ctx.cookies.set(COOKIE, '', { ...accountPageCookie(ctx), maxAge: 0 });
}

/** Records that the account page was used now (the device list's "last used"). */
export async function touchAccountSession(prisma: PrismaClient, session: AccountSession): Promise<void> {
  await touchFamily(prisma, session.familyId);
}
