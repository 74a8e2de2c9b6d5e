// Every statement on the `accounts` table (docs/architecture.md, "Data access"): the rest of Tollgate reads and
// changes accounts through these functions, so that what an account row means (disabled, not-before, a verified
// email) is decided in one place. Each change is one statement with its audit rows (src/audit/records.ts).
// Read elsewhere only by the refresh lookup's join (FamilyRepository.findToken) and the grant lookup's
// (adapters/grant-adapter.ts), which read an account with the row they are about in one round trip.
import { randomUUID } from 'node:crypto';

import type { AuditEvent } from '../audit/audit.js';
import { insertAuditRows } from '../audit/records.js';
import { Prisma, type Account, type PrismaClient } from '../db/generated/client.js';

/** The id column is a uuid: anything else names no account (and must not reach PostgreSQL as one). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An account by id; null for an unknown or malformed id. */
export const findAccountById = (prisma: PrismaClient, id: string): Promise<Account | null> =>
  UUID.test(id) ? prisma.account.findUnique({ where: { id } }) : Promise.resolve(null);

export const findAccountByUsername = (prisma: PrismaClient, username: string): Promise<Account | null> =>
  prisma.account.findUnique({ where: { username } });

/** What decides whether an account's tokens still count (src/accounts/not-before.ts); null for no account. */
export const findAccountGate = (prisma: PrismaClient, id: string) =>
  prisma.account.findUnique({ where: { id }, select: { notBefore: true, disabledAt: true } });

/** Enabled accounts with this address (case-insensitively), oldest first, at most `limit`. */
export const findEnabledAccountsByEmail = (prisma: PrismaClient, email: string, limit: number) =>
  prisma.account.findMany({
    where: { email: { equals: email, mode: 'insensitive' }, disabledAt: null },
    orderBy: { createdAt: 'asc' },
    take: limit,
  });

export interface AccountSearch {
  /** Exactly this username. */
  username?: string | undefined;
  /** Part of the username or email, case-insensitively. */
  query?: string | undefined;
  after?: string | undefined;
  limit: number;
}

/** Accounts in username order (optionally only those matching), after `after`. */
export function searchAccounts(prisma: PrismaClient, { username, query, after, limit }: AccountSearch) {
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

/**
 * Inserts an account and writes `events` with its id, in one statement. Undefined when the username is taken, also
 * when two creations race (ON CONFLICT, not a read before the write).
 */
export async function insertAccount(
  prisma: PrismaClient,
  input: { username: string; email: string | null; passwordHash: string },
  events: AuditEvent[],
): Promise<string | undefined> {
  const rows = await prisma.$queryRaw<{ id: string }[]>`
    WITH acct AS (
      INSERT INTO accounts (id, username, email, password_hash)
      VALUES (${randomUUID()}::uuid, ${input.username}, ${input.email}, ${input.passwordHash})
      ON CONFLICT (username) DO NOTHING
      RETURNING id
    ), audited AS (
      ${insertAuditRows('acct', { accountId: Prisma.sql`acct.id` }, events)}
    )
    SELECT id::text AS id FROM acct`;
  return rows[0]?.id;
}

export type AccountChange = 'disable' | 'enable' | 'delete' | 'email' | 'password' | 'sign-out';

/** The change (a data-modifying statement returning the row), then its audit rows, in one statement. */
function changed<Row>(prisma: PrismaClient, change: Prisma.Sql, events: AuditEvent[], result: Prisma.Sql) {
  return prisma.$queryRaw<Row[]>`
    WITH acct AS (${change}),
    audited AS (${insertAuditRows('acct', { accountId: Prisma.sql`acct.id` }, events)})
    SELECT ${result} FROM acct`;
}

function changeStatement(
  id: string,
  change: AccountChange,
  values: { email?: string | null; passwordHash?: string; signOut?: boolean },
): Prisma.Sql {
  switch (change) {
    case 'disable':
      // not_before too: tokens issued before the disabling stay dead if the account is enabled again.
      return Prisma.sql`UPDATE accounts SET disabled_at = now(), not_before = now(), updated_at = now() WHERE id = ${id}::uuid AND disabled_at IS NULL RETURNING id, not_before`;
    case 'enable':
      return Prisma.sql`UPDATE accounts SET disabled_at = NULL, updated_at = now() WHERE id = ${id}::uuid AND disabled_at IS NOT NULL RETURNING id, not_before`;
    case 'delete':
      // The audit trail stays: events keep the account id (no foreign key), including this one.
      return Prisma.sql`DELETE FROM accounts WHERE id = ${id}::uuid RETURNING id, not_before`;
    case 'email':
      // A new address is unproven; the same address again keeps its proof.
      return Prisma.sql`UPDATE accounts SET email = ${values.email ?? null},
            email_verified_at = CASE WHEN email IS NOT DISTINCT FROM ${values.email ?? null} THEN email_verified_at END, updated_at = now()
          WHERE id = ${id}::uuid RETURNING id, not_before`;
    case 'sign-out':
      return Prisma.sql`UPDATE accounts SET not_before = now(), updated_at = now() WHERE id = ${id}::uuid RETURNING id, not_before`;
    case 'password':
      // signOut: not_before as well, so that every token issued until now is inactive (logout everywhere).
      return Prisma.sql`UPDATE accounts SET password_hash = ${values.passwordHash!},
            not_before = CASE WHEN ${values.signOut ?? false} THEN now() ELSE not_before END, updated_at = now()
          WHERE id = ${id}::uuid RETURNING id, not_before`;
  }
}

/**
 * One statement: `change` applied to the account, and `events` written with its id. False when no row matched
 * (disable and enable also require the account not to be in that state already).
 */
export async function changeAccount(
  prisma: PrismaClient,
  id: string,
  change: AccountChange,
  values: { email?: string | null; passwordHash?: string; signOut?: boolean },
  events: AuditEvent[],
): Promise<boolean> {
  if (!UUID.test(id)) return false;
  const rows = await changed<{ id: string }>(
    prisma,
    changeStatement(id, change, values),
    events,
    Prisma.sql`id::text AS id`,
  );
  return rows.length > 0;
}

/**
 * Sets the account's not-before instant (every token issued earlier is inactive, JWT access tokens included) and
 * writes `events` (user.logged_out_everywhere), in one statement. The instant set; undefined for no such account.
 */
export async function markLoggedOutEverywhere(
  prisma: PrismaClient,
  id: string,
  events: AuditEvent[],
): Promise<Date | undefined> {
  if (!UUID.test(id)) return undefined;
  const rows = await changed<{ not_before: Date }>(
    prisma,
    changeStatement(id, 'sign-out', {}),
    events,
    Prisma.sql`not_before`,
  );
  return rows[0] ? new Date(rows[0].not_before) : undefined;
}

/**
 * Marks `email` verified if it is still the account's address, writing `events` (user.email_verified) in the same
 * statement. The address; undefined when the account or the address changed.
 */
export async function markEmailVerified(
  prisma: PrismaClient,
  id: string,
  email: string,
  events: AuditEvent[],
): Promise<string | undefined> {
  if (!UUID.test(id)) return undefined;
  const rows = await changed<{ email: string }>(
    prisma,
    Prisma.sql`UPDATE accounts SET email_verified_at = now(), updated_at = now()
       WHERE id = ${id}::uuid AND email = ${email} RETURNING id, email`,
    events,
    Prisma.sql`email`,
  );
  return rows[0]?.email;
}
