// Every statement on the `audit_events` table (docs/architecture.md, "Data access"): an event on its own
// (insertAuditEvent), the admin API's listing (listAuditEvents), and the audit half of "the change plus its audit
// rows in one statement", written once (insertAuditRows).
// A change is a data-modifying
// CTE whose RETURNING names the rows it changed (`acct`, `fam`, `c`...); `insertAuditRows` is the INSERT that
// writes, for each of those rows, one audit row per event:
//   WITH acct AS (UPDATE accounts ... RETURNING id),
//        audited AS (${insertAuditRows('acct', { accountId: Prisma.sql`acct.id` }, events)})
//   SELECT id FROM acct
// The events travel as one JSON parameter expanded by jsonb_to_recordset, so one statement writes the change and any
// number of events, or none, atomically; a change that matched no row writes no event. One statement rather than an
// interactive transaction also keeps the CLI safe on the embedded database, whose socket interleaves other
// connections' statements between a transaction's BEGIN and COMMIT.
//
// FamilyRepository.rotate (src/families/repository.ts), the token endpoint's hot statement, writes its rows without
// this fragment: it is a named statement on the pg SqlRunner whose events are two fixed rows in positional
// parameters; packing them into JSON for jsonb_to_recordset would add a serialisation and a parse to every refresh
// for no gain in what is written.
import { Prisma } from '../db/generated/client.js';
import type { PrismaClient } from '../db/generated/client.js';
import type { AuditEvent } from './events.js';

/** The events as the JSON array that `jsonb_to_recordset` expands (the `e` record of insertAuditRows). */
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

/**
 * Where an audit row's subject comes from: a column of the source (`Prisma.sql\`fam.id\``) or a parameter
 * (`Prisma.sql\`${accountId}::uuid\``). Subjects not given are NULL.
 */
export interface AuditSubjects {
  accountId?: Prisma.Sql;
  clientId?: Prisma.Sql;
  familyId?: Prisma.Sql;
}

const CTE_NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * `INSERT INTO audit_events ... SELECT ... FROM <source>, jsonb_to_recordset(<events>)`: one row per event for each
 * row of `source`, a CTE of the same statement. `where` keeps only some (source row, event) pairs (`e.type` and the
 * source's columns are in scope). The caller may append `RETURNING ...`.
 */
export function insertAuditRows(
  source: string,
  subjects: AuditSubjects,
  events: AuditEvent[],
  where?: Prisma.Sql,
): Prisma.Sql {
  if (!CTE_NAME.test(source)) throw new Error(`insertAuditRows: not a CTE name: ${source}`);
  return Prisma.sql`INSERT INTO audit_events (type, account_id, client_id, family_id, ip, user_agent, outcome, detail)
    SELECT e.type, ${subjects.accountId ?? Prisma.sql`NULL::uuid`}, ${subjects.clientId ?? Prisma.sql`NULL::text`},
           ${subjects.familyId ?? Prisma.sql`NULL::uuid`}, e.ip, e.user_agent, e.outcome, e.detail
      FROM ${Prisma.raw(source)}, jsonb_to_recordset(${auditRecords(events)}::jsonb)
           AS e(type text, outcome text, detail jsonb, ip text, user_agent text)${where ? Prisma.sql` WHERE ${where}` : Prisma.empty}`;
}

/** An event on its own: one that records a refusal, or a change made by no statement of ours. */
export async function insertAuditEvent(prisma: PrismaClient, event: AuditEvent): Promise<void> {
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
}

export interface AuditFilter {
  accountId?: string | undefined;
  clientId?: string | undefined;
  type?: string | undefined;
  /** Only events with a smaller id (the cursor: ids only grow). */
  before?: string | undefined;
  limit: number;
}

/** Events newest first (by id), filtered; each filter is served by an index on (column, id). */
export const listAuditEvents = (prisma: PrismaClient, { accountId, clientId, type, before, limit }: AuditFilter) =>
  prisma.auditEvent.findMany({
    where: {
      ...(accountId !== undefined ? { accountId } : {}),
      ...(clientId !== undefined ? { clientId } : {}),
      ...(type !== undefined ? { type } : {}),
      ...(before !== undefined ? { id: { lt: BigInt(before) } } : {}),
    },
    orderBy: { id: 'desc' },
    take: limit,
  });
