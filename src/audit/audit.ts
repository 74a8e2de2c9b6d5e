// The audit trail: an append-only table of security-relevant events, each mirrored to the log. Where an event
// records a change, it is written by the same statement as the change (see src/families/repository.ts); events
// that record a refusal are written here on their own.
import type { PrismaClient } from '../db/generated/client.js';
import type { Logger } from '../observability/logger.js';

export type AuditType =
  | 'login.succeeded'
  | 'login.failed'
  | 'consent.granted'
  | 'refresh_token.rotated'
  | 'refresh_token.reuse_detected'
  | 'refresh_token.family_revoked'
  | 'refresh_token.velocity_exceeded'
  | 'refresh_token.anomaly'
  | 'session.revoked'
  | 'user.logged_out_everywhere'
  | 'token.exchanged'
  | 'backchannel_logout.delivered'
  | 'backchannel_logout.failed'
  | 'client.created'
  | 'client.registered'
  | 'client.updated'
  | 'client.deleted'
  | 'client.secret_rotated'
  | 'client.resource_allowed'
  | 'client.resource_removed'
  | 'resource_server.updated'
  | 'resource_server.deleted'
  | 'user.created'
  | 'user.updated'
  | 'user.disabled'
  | 'user.enabled'
  | 'user.deleted'
  | 'user.password_changed'
  | 'user.password_reset_requested'
  | 'user.email_verified'
  | 'consent.withdrawn';

export interface AuditEvent {
  type: AuditType;
  outcome: 'success' | 'failure' | 'revoked' | 'refused';
  accountId?: string | null;
  clientId?: string | null;
  familyId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  detail?: Record<string, unknown>;
}

export interface Audit {
  record(event: AuditEvent): Promise<void>;
  /** Mirrors to the log an event already written to the table by another statement. */
  mirror(event: AuditEvent): void;
}

export function createAudit(prisma: PrismaClient, logger: Logger): Audit {
  const mirror = (event: AuditEvent) => {
    logger.info({ audit: { ...event, detail: event.detail ?? {} } }, `audit ${event.type}`);
  };
  return {
    mirror,
    async record(event) {
      await prisma.auditEvent.create({
        data: {
          type: event.type,
          outcome: event.outcome,
          accountId: event.accountId ?? null,
          clientId: event.clientId ?? null,
          familyId: event.familyId ?? null,
          ip: event.ip ?? null,
          userAgent: event.userAgent ?? null,
          detail: (event.detail ?? {}) as object,
        },
      });
      mirror(event);
    },
  };
}
