// The durable queue of back-channel logouts (PostgreSQL): who must hear that an account signed out. Only clients
// registered with a backchannel_logout_uri get rows. The worker (worker.ts) delivers them. Every statement on the
// `backchannel_logouts` table is here (docs/architecture.md, "Data access").
import type { AuditEvent } from '../audit/audit.js';
import { insertAuditRows } from '../audit/records.js';
import { Prisma, type PrismaClient } from '../db/generated/client.js';

export type LogoutReason =
  'end_session' | 'logged_out_everywhere' | 'session_revoked' | 'account_disabled' | 'account_deleted';

/** One client, one account, and (when the sign-out names one session) that session's sid for the client. */
export async function enqueueLogout(
  prisma: PrismaClient,
  clientId: string,
  accountId: string,
  sid: string | null,
  reason: LogoutReason,
): Promise<number> {
  return prisma.$executeRaw`
    INSERT INTO backchannel_logouts (client_id, account_id, sid, reason)
    SELECT c.client_id, ${accountId}::uuid, ${sid}, ${reason}
      FROM clients c
     WHERE c.client_id = ${clientId} AND c.metadata ? 'backchannel_logout_uri'
       AND ${accountId} ~ '^[0-9a-fA-F-]{36}$'`;
}

/**
 * Every client the account holds a session with (a refresh-token family or a grant not yet expired), after it was
 * signed out everywhere, disabled or deleted. The logout token names the account only (`sub`): the client ends
 * every session of that user.
 */
export async function enqueueAccountLogouts(
  prisma: PrismaClient,
  accountId: string,
  reason: LogoutReason,
): Promise<number> {
  return prisma.$executeRaw`
    INSERT INTO backchannel_logouts (client_id, account_id, sid, reason)
    SELECT c.client_id, ${accountId}::uuid, NULL, ${reason}
      FROM clients c
     WHERE c.metadata ? 'backchannel_logout_uri'
       AND c.client_id IN (
         SELECT f.client_id FROM refresh_token_families f WHERE f.account_id = ${accountId}::uuid AND f.expires_at > now()
         UNION
         SELECT g.payload->>'clientId' FROM oidc_payloads g
          WHERE g.model = 'Grant' AND g.payload->>'accountId' = ${accountId} AND (g.expires_at IS NULL OR g.expires_at > now()))`;
}

/** The client of one revoked device session (family), with the sid its tokens were issued under, if any. */
export async function enqueueFamilyLogout(
  prisma: PrismaClient,
  familyId: string,
  reason: LogoutReason,
): Promise<number> {
  return prisma.$executeRaw`
    INSERT INTO backchannel_logouts (client_id, account_id, sid, reason)
    SELECT f.client_id, f.account_id,
           (SELECT t.payload->>'sid' FROM refresh_tokens t WHERE t.family_id = f.id AND t.payload IS NOT NULL ORDER BY t.generation DESC LIMIT 1),
           ${reason}
      FROM refresh_token_families f JOIN clients c ON c.client_id = f.client_id
     WHERE f.id = ${familyId}::uuid AND c.metadata ? 'backchannel_logout_uri'`;
}

export interface ClaimedLogout {
  id: bigint;
  client_id: string;
  account_id: string;
  sid: string | null;
  reason: string;
  attempts: number;
}

/** Claims up to `batch` rows due now for `leaseSeconds` (rows another instance holds are skipped, not waited for). */
export const claimLogouts = (prisma: PrismaClient, batch: number, leaseSeconds: number) =>
  prisma.$queryRaw<ClaimedLogout[]>`
    UPDATE backchannel_logouts SET locked_until = now() + make_interval(secs => ${leaseSeconds})
     WHERE id IN (SELECT id FROM backchannel_logouts
                   WHERE next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
                   ORDER BY next_attempt_at LIMIT ${batch} FOR UPDATE SKIP LOCKED)
    RETURNING id, client_id, account_id::text AS account_id, sid, reason, attempts`;

/** Releases a claimed row for another attempt after `delaySeconds`. */
export async function rescheduleLogout(
  prisma: PrismaClient,
  id: bigint,
  attempts: number,
  error: string,
  delaySeconds: number,
): Promise<void> {
  await prisma.$executeRaw`
    UPDATE backchannel_logouts
       SET attempts = ${attempts}, last_error = ${error}, locked_until = NULL,
           next_attempt_at = now() + make_interval(secs => ${delaySeconds})
     WHERE id = ${id}`;
}

/** Removes a row (delivered, or given up) and writes `event` for it, in one statement. */
export async function removeLogout(prisma: PrismaClient, id: bigint, event: AuditEvent): Promise<void> {
  await prisma.$executeRaw`
    WITH d AS (DELETE FROM backchannel_logouts WHERE id = ${id} RETURNING client_id, account_id)
    ${insertAuditRows('d', { accountId: Prisma.sql`d.account_id`, clientId: Prisma.sql`d.client_id` }, [event])}`;
}
