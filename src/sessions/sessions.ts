// Device sessions. A session is one refresh-token family: one sign-in on one device (src/families). Listing reads
// the families table; revoking goes through Families, so that the access tokens issued from a family go with it
// and the audit events are written by the revoking statement itself. Shared by the admin API and the CLI.
import { enqueueAccountLogouts, enqueueFamilyLogout } from '../logout/queue.js';
import type { Audit, AuditEvent } from '../audit/audit.js';
import { markLoggedOutEverywhere } from '../accounts/account-queries.js';
import type { PrismaClient, RefreshFamily } from '../db/generated/client.js';
import { NotFound } from '../errors.js';
import type { Families } from '../families/families.js';
import { findLiveFamilyId, listLiveFamilies, type FamilyKey } from '../families/repository.js';
import { eventBy, type Actor } from '../audit/actor.js';

export interface SessionView {
  id: string;
  client_id: string;
  created_at: string;
  last_used_at: string;
  /** When the session ends unless used again: its idle expiry, never past the family's absolute end. */
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
  refresh_count: number;
  /** The anomaly signals of the latest rotation that raised any (README "Refresh anomaly signals"), and when. */
  latest_signals: string[];
  latest_signals_at: string | null;
}

export interface SessionDeps {
  prisma: PrismaClient;
  families: Families;
  audit: Audit;
}

/** Keyset position in the newest-first order: (created_at, id), both immutable. */
export type SessionKey = FamilyKey;

export function toSessionView(f: RefreshFamily): SessionView {
  return {
    id: f.id,
    client_id: f.clientId,
    created_at: f.createdAt.toISOString(),
    last_used_at: f.lastUsedAt.toISOString(),
    expires_at: new Date(Math.min(f.idleExpiresAt.getTime(), f.expiresAt.getTime())).toISOString(),
    ip: f.ip,
    user_agent: f.userAgent,
    refresh_count: f.refreshCount,
    latest_signals: Array.isArray(f.latestSignals) ? f.latestSignals.map(String) : [],
    latest_signals_at: f.latestSignalsAt ? f.latestSignalsAt.toISOString() : null,
  };
}

/** The live sessions of an account, newest first, after `after`. */
export function listSessions(
  prisma: PrismaClient,
  accountId: string,
  { after, limit }: { after?: SessionKey | undefined; limit: number },
) {
  return listLiveFamilies(prisma, accountId, { after, limit });
}

/** Logs one device out: its family is revoked; the account's other sessions are untouched. */
export async function revokeSession(
  { prisma, families }: SessionDeps,
  accountId: string,
  familyId: string,
  actor: Actor,
): Promise<void> {
  const live = await findLiveFamilyId(prisma, accountId, familyId);
  const revoked =
    live &&
    (await families.revokeFamily(live, 'session_revoked', [
      eventBy(actor, 'session.revoked', 'revoked', { reason: 'device_logout' }),
    ]));
  if (!live || !revoked) throw new NotFound('this user has no live session with that id');
  await enqueueFamilyLogout(prisma, live, 'session_revoked'); // back-channel logout, if the client has it
}

/**
 * Logs an account out everywhere. First, in one statement, the account's not-before instant (every token issued
 * earlier is inactive, JWT access tokens included) and the user.logged_out_everywhere event; then every family
 * is revoked, each with a session.revoked event. Repeating the call after a failure in between is harmless.
 */
export async function logoutEverywhere({ prisma, families, audit }: SessionDeps, accountId: string, actor: Actor) {
  const event: AuditEvent = { ...eventBy(actor, 'user.logged_out_everywhere', 'success'), accountId };
  const notBefore = await markLoggedOutEverywhere(prisma, accountId, [event]);
  if (!notBefore) throw new NotFound('no such user');
  await families.mirror.forgetAccount(accountId); // after the commit: the store's copy is read again (src/store/mirror.ts)
  audit.mirror(event);
  const revoked = await families.revokeWhere({ accountId }, 'logged_out_everywhere', [
    eventBy(actor, 'session.revoked', 'revoked', { reason: 'logged_out_everywhere' }),
  ]);
  await enqueueAccountLogouts(prisma, accountId, 'logged_out_everywhere'); // back-channel logout to every client concerned
  return { notBefore, revoked: revoked.map((f) => f.id) };
}

/**
 * Revokes every family of a (deleted) client, one family at a time: Families can revoke by grant or account in
 * one statement, not by client.
 */
export async function revokeClientSessions(
  { families }: SessionDeps,
  clientId: string,
  actor: Actor,
): Promise<string[]> {
  const event = eventBy(actor, 'refresh_token.family_revoked', 'revoked', { reason: 'client_deleted' });
  return (await families.revokeWhere({ clientId }, 'client_deleted', [event])).map((f) => f.id);
}
