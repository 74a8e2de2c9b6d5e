// The accounts whose sessions administrators manage, as they see them: no password hash, and the instant of the
// last "logout everywhere" (not_before), before which every token of the account is inactive.
import type { Account, PrismaClient } from '../db/generated/client.js';

export interface UserView {
  id: string;
  username: string;
  email: string | null;
  /** Whether the current email was proven by a verification link. */
  email_verified: boolean;
  created_at: string;
  disabled_at: string | null;
  not_before: string | null;
}

export const toUserView = (a: Account): UserView => ({
  id: a.id,
  username: a.username,
  email: a.email,
  email_verified: a.email !== null && a.emailVerifiedAt !== null,
  created_at: a.createdAt.toISOString(),
  disabled_at: a.disabledAt?.toISOString() ?? null,
  not_before: a.notBefore?.toISOString() ?? null,
});

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An account by id; null for an unknown or malformed id (the column is a uuid). */
export const findUser = (prisma: PrismaClient, id: string) =>
  UUID.test(id) ? prisma.account.findUnique({ where: { id } }) : Promise.resolve(null);

export const findUserByUsername = (prisma: PrismaClient, username: string) =>
  prisma.account.findUnique({ where: { username } });

export interface UserSearch {
  /** Exactly this username. */
  username?: string | undefined;
  /** Part of the username or email, case-insensitively. */
  query?: string | undefined;
  after?: string | undefined;
  limit: number;
}

/** Accounts in username order (optionally only those matching), after `after`. */
export function listUsers(prisma: PrismaClient, { username, query, after, limit }: UserSearch) {
  const name = {
    ...(username !== undefined ? { equals: username } : {}),
    ...(after !== undefined ? { gt: after } : {}),
  };
  const matching =
    query !== undefined
      ? {
          OR: [
            { username: { contains: query, mode: 'insensitive' as const } },
            { email: { contains: query, mode: 'insensitive' as const } },
          ],
        }
      : {};
  return prisma.account.findMany({ where: { username: name, ...matching }, orderBy: { username: 'asc' }, take: limit });
}
