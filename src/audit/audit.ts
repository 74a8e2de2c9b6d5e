// The audit trail: an append-only table of security-relevant events, each mirrored to the log. Where an event
// records a change, it is written by the same statement as the change (see src/audit/records.ts); events
// that record a refusal are written here on their own.
import type { PrismaClient } from '../db/generated/client.js';
import type { Logger } from '../observability/logger.js';
import type { AuditEvent } from './events.js';
import { insertAuditEvent } from './records.js';

export type { AuditEvent, AuditType } from './events.js';

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
      await insertAuditEvent(prisma, event);
      mirror(event);
    },
  };
}
