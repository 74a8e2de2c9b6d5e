// Single-use links mailed to a user: a password reset (valid 30 minutes) or an email verification (valid 24 hours).
// The link carries 256 random bits; the database keeps only their HMAC (table account_tokens), and using a link is
// one conditional write (`consumed_at IS NULL AND expires_at > now()`), so that of two racing uses exactly one wins.
import { randomBytes } from 'node:crypto';

import type { TokenHasher } from '../crypto/token-hash.js';
import type { PrismaClient } from '../db/generated/client.js';

export type LinkPurpose = 'password_reset' | 'email_verification';

export const LINK_TTL_SECONDS: Record<LinkPurpose, number> = { password_reset: 30 * 60, email_verification: 24 * 3600 };

const TOKEN = /^[\w-]{43}$/;

export interface LinkDeps {
  prisma: PrismaClient;
  hash: TokenHasher;
}

const keyOf = (hash: TokenHasher, purpose: LinkPurpose, token: string) => hash(`${purpose}:${token}`);

/** A new link token for the account; `email` is the address a verification link proves. */
export async function issueLink(
  { prisma, hash }: LinkDeps,
  accountId: string,
  purpose: LinkPurpose,
  email: string | null = null,
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await prisma.accountToken.create({
    data: {
      id: keyOf(hash, purpose, token),
      accountId,
      purpose,
      email,
      expiresAt: new Date(Date.now() + LINK_TTL_SECONDS[purpose] * 1000),
    },
  });
  return token;
}

/** Whether the link can still be used (for showing the form), without using it. */
export async function linkUsable({ prisma, hash }: LinkDeps, purpose: LinkPurpose, token: string): Promise<boolean> {
  if (!TOKEN.test(token)) return false;
  const row = await prisma.accountToken.findUnique({ where: { id: keyOf(hash, purpose, token) } });
  return Boolean(row && row.purpose === purpose && !row.consumedAt && row.expiresAt.getTime() > Date.now());
}

/** Uses the link, once: its account (and proven address), or undefined when unknown, used or expired. */
export async function consumeLink(
  { prisma, hash }: LinkDeps,
  purpose: LinkPurpose,
  token: string,
): Promise<{ accountId: string; email: string | null } | undefined> {
  if (!TOKEN.test(token)) return undefined;
  const rows = await prisma.$queryRaw<{ account_id: string; email: string | null }[]>`
    UPDATE account_tokens SET consumed_at = now()
     WHERE id = ${keyOf(hash, purpose, token)} AND purpose = ${purpose} AND consumed_at IS NULL AND expires_at > now()
    RETURNING account_id::text AS account_id, email`;
  return rows[0] ? { accountId: rows[0].account_id, email: rows[0].email } : undefined;
}
