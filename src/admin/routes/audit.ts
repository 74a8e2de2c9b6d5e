// /admin/audit: the audit trail, newest first, filtered by user, client and event type (each filter served by an
// index on (column, id)). Events are ordered by their id, which only grows, so a cursor is simply the last id seen.
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';

import { listAuditEvents } from '../../audit/records.js';
import type { AuditEvent as AuditRow } from '../../db/generated/client.js';
import type { AdminDeps } from '../deps.js';
import { DEFAULT_LIMIT, decodeCursor, toPage } from '../pagination.js';
import { auditQuery } from '../schemas.js';
import { parseQuery } from '../validate.js';

export interface AuditEventView {
  /** A string: ids are 64-bit and JSON numbers are not. */
  id: string;
  type: string;
  at: string;
  user_id: string | null;
  client_id: string | null;
  family_id: string | null;
  ip: string | null;
  user_agent: string | null;
  outcome: string;
  detail: unknown;
}

export const toAuditEventView = (e: AuditRow): AuditEventView => ({
  id: e.id.toString(),
  type: e.type,
  at: e.at.toISOString(),
  user_id: e.accountId,
  client_id: e.clientId,
  family_id: e.familyId,
  ip: e.ip,
  user_agent: e.userAgent,
  outcome: e.outcome,
  detail: e.detail,
});

// 18 digits stay below the largest bigint PostgreSQL accepts, whatever a client puts in a cursor.
const auditCursor = z.string().regex(/^\d{1,18}$/);

export function registerAuditRoutes(router: Router, guard: Middleware, { prisma }: AdminDeps): void {
  router.get('/audit', guard, async function queryAudit(ctx) {
    const query = parseQuery(ctx, auditQuery);
    const limit = query.limit ?? DEFAULT_LIMIT;
    const before = decodeCursor(query.cursor, auditCursor);
    const rows = await listAuditEvents(prisma, {
      accountId: query.user_id,
      clientId: query.client_id,
      type: query.type,
      before,
      limit: limit + 1,
    });
    ctx.body = toPage(rows, limit, toAuditEventView, (e) => e.id.toString());
  });
}
