// Audit rows written by the very statement that makes the change they record (the pattern of
// src/families/repository.ts): the events travel as one JSON parameter, expanded in SQL with
//   jsonb_to_recordset(${auditRecords(events)}::jsonb) AS e(type text, outcome text, detail jsonb, ip text, user_agent text)
// so one statement writes the change and any number of events, or none, atomically. One statement rather than an
// interactive transaction also keeps the CLI safe on the embedded database, whose socket interleaves other
// connections' statements between a transaction's BEGIN and COMMIT.
import type { AuditEvent } from './audit.js';

export const auditRecords = (events: AuditEvent[]): string =>
  JSON.stringify(
    events.map((e) => ({
      type: e.type,
      outcome: e.outcome,
      detail: e.detail ?? {},
      ip: e.ip ?? null,
      user_agent: e.userAgent ?? null,
    })),
  );
