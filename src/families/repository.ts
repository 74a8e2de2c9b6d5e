// SQL for refresh-token families. Each operation that changes state is ONE statement (data-modifying CTEs), so
// it is atomic without an interactive transaction and costs one round trip: consuming a token, inserting its
// successor, extending the family and writing the audit row either all happen or none does. Two requests
// racing on one token serialise on its row lock; the second re-checks `consumed_at IS NULL` and finds it false.
import { Prisma, type PrismaClient } from '../db/generated/client.js';
import type { SqlRunner } from '../db/sql.js';
import type { Payload } from '../store/payload.js';
import { markLoggedOutEverywhere } from '../accounts/account-queries.js';
import type { AuditEvent } from '../audit/audit.js';
import { insertAuditRows } from '../audit/records.js';

export interface FamilyRow {
  id: string;
  accountId: string;
  clientId: string;
  grantId: string;
  ip: string | null;
  userAgent: string | null;
  createdAt: Date;
  lastUsedAt: Date;
  refreshCount: number;
  idleExpiresAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  /** Where and with what it was last used (its start until its first rotation), for the anomaly signals. */
  lastIp: string | null;
  lastUserAgent: string | null;
  rapidStreak: number;
}

/** What a rotation records of the anomaly signals it raised (src/anomalies). */
export interface RotationSignals {
  rapidStreak: number;
  signals: string[];
  /** The refresh_token.anomaly event's detail; the event is written only when `signals` is not empty. */
  detail: Record<string, unknown>;
}

export interface TokenRow {
  /** The grant and account of the family, read in the same query (absent when they no longer exist). */
  grant: { payload: Payload; expiresAt: Date | null } | null;
  account: {
    id: string;
    username: string;
    email: string | null;
    emailVerifiedAt: Date | null;
    disabledAt: Date | null;
    /** Logout everywhere's instant: not checked by a refresh, but a change of it makes a snapshot stale. */
    notBefore: Date | null;
  } | null;
  id: string;
  parentId: string | null;
  generation: number;
  payload: Payload | null;
  expiresAt: Date;
  consumedAt: Date | null;
  family: FamilyRow;
}

interface JoinedRow {
  id: string;
  parent_id: string | null;
  generation: number;
  payload: Payload | null;
  expires_at: Date;
  consumed_at: Date | null;
  family_id: string;
  account_id: string;
  client_id: string;
  grant_id: string;
  ip: string | null;
  user_agent: string | null;
  created_at: Date;
  last_used_at: Date;
  refresh_count: number;
  idle_expires_at: Date;
  family_expires_at: Date;
  revoked_at: Date | null;
  last_ip: string | null;
  last_user_agent: string | null;
  rapid_streak: number;
  grant_payload: Payload | null;
  grant_expires_at: Date | null;
  account_username: string | null;
  account_email: string | null;
  account_disabled_at: Date | null;
  account_email_verified_at: Date | null;
  account_not_before: Date | null;
}

const toFamily = (r: JoinedRow): FamilyRow => ({
  id: r.family_id,
  accountId: r.account_id,
  clientId: r.client_id,
  grantId: r.grant_id,
  ip: r.ip,
  userAgent: r.user_agent,
  createdAt: new Date(r.created_at),
  lastUsedAt: new Date(r.last_used_at),
  refreshCount: Number(r.refresh_count),
  idleExpiresAt: new Date(r.idle_expires_at),
  expiresAt: new Date(r.family_expires_at),
  revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
  lastIp: r.last_ip,
  lastUserAgent: r.last_user_agent,
  rapidStreak: Number(r.rapid_streak) || 0,
});

const date = (d: Date | string | null) => (d ? new Date(d) : null);

const toTokenRow = (r: JoinedRow): TokenRow => ({
  grant: r.grant_payload ? { payload: r.grant_payload, expiresAt: date(r.grant_expires_at) } : null,
  account: r.account_username
    ? {
        id: r.account_id,
        username: r.account_username,
        email: r.account_email,
        emailVerifiedAt: date(r.account_email_verified_at),
        disabledAt: date(r.account_disabled_at),
        notBefore: date(r.account_not_before),
      }
    : null,
  id: r.id,
  parentId: r.parent_id,
  generation: Number(r.generation),
  payload: r.payload,
  expiresAt: new Date(r.expires_at),
  consumedAt: date(r.consumed_at),
  family: toFamily(r),
});

// The grant and account columns of a token's row, joined on its family `f` (findToken, createFamily).
const GRANT_AND_ACCOUNT = `a.username AS account_username, a.email AS account_email, a.disabled_at AS account_disabled_at,
             a.email_verified_at AS account_email_verified_at, a.not_before AS account_not_before`;

/**
 * What a rotation built from a snapshot of the presented token's row (src/families/token-snapshots.ts) relied on,
 * as the rotating statement's parameters: it rotates only when the database still says exactly this. JSON-ready
 * (dates as ISO strings), so that a rotation cached for the grace window carries it too.
 */
export interface RotationCheck {
  familyId: string;
  clientId: string;
  tokenPayload: string;
  refreshCount: number;
  lastUsedAt: string;
  lastIp: string | null;
  lastUserAgent: string | null;
  rapidStreak: number;
  username: string;
  email: string | null;
  emailVerifiedAt: string | null;
  notBefore: string | null;
  grantPayload: string;
  grantExpiresAt: string | null;
  tokenExpiresAt: string;
  familyExpiresAt: string;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The check for a rotation built from `row`; undefined when the row lacks what a rotation needs (then no fast path). */
export function rotationCheckOf(row: TokenRow): RotationCheck | undefined {
  const { family, account, grant, payload } = row;
  if (!account || !grant || !payload) return undefined;
  return {
    familyId: family.id,
    clientId: family.clientId,
    tokenPayload: JSON.stringify(payload),
    refreshCount: family.refreshCount,
    lastUsedAt: family.lastUsedAt.toISOString(),
    lastIp: family.lastIp,
    lastUserAgent: family.lastUserAgent,
    rapidStreak: family.rapidStreak,
    username: account.username,
    email: account.email,
    emailVerifiedAt: iso(account.emailVerifiedAt),
    notBefore: iso(account.notBefore),
    grantPayload: JSON.stringify(grant.payload),
    grantExpiresAt: iso(grant.expiresAt),
    tokenExpiresAt: row.expiresAt.toISOString(),
    familyExpiresAt: family.expiresAt.toISOString(),
  };
}

// The rotating statement's extra condition when it rotates on a snapshot's word: every fact the rotation was built
// on is compared with the rows, under the token's row lock. Any difference rotates nothing, and the grant answers
// from a fresh lookup instead. Parameters $13-$28 are a RotationCheck's fields, in order.
const SNAPSHOT_STILL_TRUE = `
         AND t.family_id = $13::uuid AND t.payload = $15::jsonb AND t.expires_at = $27::timestamptz
         AND EXISTS (
           SELECT 1 FROM refresh_token_families f
             JOIN accounts a ON a.id = f.account_id
             JOIN oidc_payloads g ON g.model = 'Grant' AND g.id = f.grant_id
            WHERE f.id = t.family_id AND f.revoked_at IS NULL AND f.expires_at = $28::timestamptz AND f.expires_at > now()
              AND f.client_id = $14
              AND f.refresh_count = $16::int AND f.last_used_at = $17::timestamptz
              AND COALESCE(f.last_ip, f.ip) IS NOT DISTINCT FROM $18 AND COALESCE(f.last_user_agent, f.user_agent) IS NOT DISTINCT FROM $19
              AND f.rapid_streak = $20::int
              AND a.disabled_at IS NULL AND a.username = $21 AND a.email IS NOT DISTINCT FROM $22
              AND a.email_verified_at IS NOT DISTINCT FROM $23::timestamptz AND a.not_before IS NOT DISTINCT FROM $24::timestamptz
              AND g.payload = $25::jsonb AND g.expires_at IS NOT DISTINCT FROM $26::timestamptz)`;

const checkParams = (c: RotationCheck) => [
  c.familyId,
  c.clientId,
  c.tokenPayload,
  c.refreshCount,
  c.lastUsedAt,
  c.lastIp,
  c.lastUserAgent,
  c.rapidStreak,
  c.username,
  c.email,
  c.emailVerifiedAt,
  c.notBefore,
  c.grantPayload,
  c.grantExpiresAt,
  c.tokenExpiresAt,
  c.familyExpiresAt,
];

/**
 * The token endpoint's statements (lookup, rotation) go through the plain SqlRunner as named statements: Prisma's
 * per-query work was a fifth of a refresh's CPU (BENCHMARKS.md). The rarer ones keep Prisma's tagged templates.
 */
export class FamilyRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly sql: SqlRunner,
  ) {}

  /** A token with its family, the family's grant and its account, in one round trip; undefined when unknown. */
  async findToken(idHash: string): Promise<TokenRow | undefined> {
    const rows = await this.sql.query<JoinedRow>(
      `
      SELECT t.id, t.parent_id, t.generation, t.payload, t.expires_at, t.consumed_at,
             f.id AS family_id, f.account_id, f.client_id, f.grant_id, f.ip, f.user_agent, f.created_at,
             f.last_used_at, f.refresh_count, f.idle_expires_at, f.expires_at AS family_expires_at, f.revoked_at,
             COALESCE(f.last_ip, f.ip) AS last_ip, COALESCE(f.last_user_agent, f.user_agent) AS last_user_agent, f.rapid_streak,
             g.payload AS grant_payload, g.expires_at AS grant_expires_at,
             ${GRANT_AND_ACCOUNT}
        FROM refresh_tokens t
        JOIN refresh_token_families f ON f.id = t.family_id
        LEFT JOIN oidc_payloads g ON g.model = 'Grant' AND g.id = f.grant_id
        LEFT JOIN accounts a ON a.id = f.account_id
       WHERE t.id = $1`,
      [idHash],
      'tg_find_refresh_token',
    );
    return rows[0] && toTokenRow(rows[0]);
  }

  /**
   * Starts a family with its first token (generation 0). Returns the new token's row as findToken would read it
   * (family, grant and account included), from the same statement: the first token's snapshot is made of it.
   */
  async createFamily(input: {
    familyId: string;
    tokenHash: string;
    payload: Payload;
    accountId: string;
    clientId: string;
    grantIdHash: string;
    ip: string | null;
    userAgent: string | null;
    tokenExpiresAt: Date;
    familyExpiresAt: Date;
  }): Promise<TokenRow> {
    // A grant outlives none of its families: a family started later on an existing grant (a new sign-in in the
    // same browser session) extends the grant, payload `exp` included, to the family's absolute end.
    const familyExp = Math.floor(input.familyExpiresAt.getTime() / 1000);
    const rows = await this.sql.query<JoinedRow>(
      `
      WITH fam AS (
        INSERT INTO refresh_token_families (id, account_id, client_id, grant_id, ip, user_agent, idle_expires_at, expires_at)
        VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7::timestamptz, $8::timestamptz)
        RETURNING *
      ), grant_extended AS (
        UPDATE oidc_payloads
           SET expires_at = $8::timestamptz, payload = jsonb_set(payload, '{exp}', to_jsonb($9::bigint))
         WHERE model = 'Grant' AND id = $4 AND expires_at < $8::timestamptz
        RETURNING payload, expires_at
      ), t AS (
        INSERT INTO refresh_tokens (id, family_id, parent_id, generation, payload, expires_at)
        SELECT $10, fam.id, NULL, 0, $11::jsonb, $7::timestamptz FROM fam
        RETURNING *
      )
      SELECT t.id, t.parent_id, t.generation, t.payload, t.expires_at, t.consumed_at,
             f.id AS family_id, f.account_id, f.client_id, f.grant_id, f.ip, f.user_agent, f.created_at,
             f.last_used_at, f.refresh_count, f.idle_expires_at, f.expires_at AS family_expires_at, f.revoked_at,
             COALESCE(f.last_ip, f.ip) AS last_ip, COALESCE(f.last_user_agent, f.user_agent) AS last_user_agent, f.rapid_streak,
             COALESCE(ge.payload, g.payload) AS grant_payload,
             CASE WHEN ge.payload IS NULL THEN g.expires_at ELSE ge.expires_at END AS grant_expires_at,
             ${GRANT_AND_ACCOUNT}
        FROM t
        JOIN fam f ON f.id = t.family_id
        LEFT JOIN grant_extended ge ON true
        LEFT JOIN oidc_payloads g ON g.model = 'Grant' AND g.id = f.grant_id
        LEFT JOIN accounts a ON a.id = f.account_id`,
      [
        input.familyId,
        input.accountId,
        input.clientId,
        input.grantIdHash,
        input.ip,
        input.userAgent,
        input.tokenExpiresAt.toISOString(),
        input.familyExpiresAt.toISOString(),
        familyExp,
        input.tokenHash,
        JSON.stringify(input.payload),
      ],
    );
    return toTokenRow(rows[0]!);
  }

  /**
   * Consumes `parentHash` and inserts its successor, extending the family and auditing the rotation: one
   * statement. True when this call rotated, or when the same successor is already in place (a retry of a
   * rotation whose response was cached: idempotent). False when the parent was consumed into another successor,
   * or the family was revoked meanwhile. The family remembers the rotation's time (`usedAt`, the clock the grant
   * built the successor's snapshot with), address and user agent and, when given, its anomaly signals: a
   * refresh_token.anomaly event is written with the rotation when any was raised. With `check` (a rotation built
   * from a snapshot), false also when anything the snapshot said is no longer so.
   */
  async rotate(input: {
    parentHash: string;
    childHash: string;
    childPayload: Payload;
    childExpiresAt: Date;
    usedAt: Date;
    audit: AuditEvent;
    signals?: RotationSignals | undefined;
    check?: RotationCheck | undefined;
  }): Promise<boolean> {
    const { parentHash, childHash, childPayload, childExpiresAt, usedAt, audit, signals, check } = input;
    const raised = signals?.signals.length ? signals : undefined;
    const rows = await this.sql.query<{ rotated: number }>(
      `
      WITH consumed AS (
        UPDATE refresh_tokens t SET consumed_at = now(), payload = NULL
         WHERE t.id = $1 AND t.consumed_at IS NULL${check ? SNAPSHOT_STILL_TRUE : ''}
        RETURNING family_id, generation
      ), fam AS (
        UPDATE refresh_token_families f
           SET last_used_at = $12::timestamptz, refresh_count = f.refresh_count + 1, idle_expires_at = $3::timestamptz,
               last_ip = $6, last_user_agent = $7, rapid_streak = COALESCE($9::int, f.rapid_streak),
               latest_signals = COALESCE($10::jsonb, f.latest_signals),
               latest_signals_at = CASE WHEN $10::jsonb IS NULL THEN f.latest_signals_at ELSE now() END
          FROM consumed c
         WHERE f.id = c.family_id AND f.revoked_at IS NULL
        RETURNING f.id, f.account_id, f.client_id
      ), child AS (
        INSERT INTO refresh_tokens (id, family_id, parent_id, generation, payload, expires_at)
        SELECT $2, c.family_id, $1, c.generation + 1, $4::jsonb, $3::timestamptz
          FROM consumed c JOIN fam ON fam.id = c.family_id
        RETURNING family_id, generation
      ), audited AS (
        -- The rotation, then (when it raised any signal) its refresh_token.anomaly event: one INSERT, in that order.
        INSERT INTO audit_events (type, account_id, client_id, family_id, ip, user_agent, outcome, detail)
        SELECT $5, fam.account_id, fam.client_id, fam.id, $6, $7, $8, jsonb_build_object('generation', child.generation)
          FROM fam JOIN child ON child.family_id = fam.id
        UNION ALL
        SELECT 'refresh_token.anomaly', fam.account_id, fam.client_id, fam.id, $6, $7, 'success', $11::jsonb || jsonb_build_object('generation', child.generation)
          FROM fam JOIN child ON child.family_id = fam.id
         WHERE $11::jsonb IS NOT NULL
      )
      SELECT (SELECT count(*) FROM child)::int AS rotated`,
      [
        parentHash,
        childHash,
        childExpiresAt.toISOString(),
        JSON.stringify(childPayload),
        audit.type,
        audit.ip ?? null,
        audit.userAgent ?? null,
        audit.outcome,
        signals ? signals.rapidStreak : null,
        raised ? JSON.stringify(raised.signals) : null,
        raised ? JSON.stringify(raised.detail) : null,
        usedAt.toISOString(),
        ...(check ? checkParams(check) : []),
      ],
      check ? 'tg_rotate_refresh_token_checked' : 'tg_rotate_refresh_token',
    );
    if (Number(rows[0]?.rotated) === 1) return true;
    const existing = await this.sql.query<{ parent_id: string | null }>(
      'SELECT parent_id FROM refresh_tokens WHERE id = $1',
      [childHash],
      'tg_refresh_token_parent',
    );
    return existing[0]?.parent_id === parentHash;
  }

  /** The consumption state of a token (for the grace window: has the successor been used?). */
  async consumedAt(idHash: string): Promise<{ consumedAt: Date | null } | undefined> {
    const rows = await this.sql.query<{ consumed_at: Date | null }>(
      'SELECT consumed_at FROM refresh_tokens WHERE id = $1',
      [idHash],
      'tg_refresh_token_consumed',
    );
    const r = rows[0];
    return r ? { consumedAt: r.consumed_at ? new Date(r.consumed_at) : null } : undefined;
  }

  /**
   * Sets the account's not-before instant (every token issued earlier is inactive, JWT access tokens included) and
   * writes the events (user.logged_out_everywhere), in one statement. False when there is no such account.
   */
  async markLoggedOutEverywhere(accountId: string, events: AuditEvent[]): Promise<boolean> {
    return (await markLoggedOutEverywhere(this.prisma, accountId, events)) !== undefined;
  }

  /**
   * Revokes families (by id, or every family of a grant, an account or a client) and writes the given audit events for
   * each family revoked, in one statement. Tokens keep their rows (a revoked family's token is refused, not
   * unknown) but lose their payloads. Returns the families revoked by this call.
   */
  async revoke(
    where: { familyId: string } | { grantIdHash: string } | { accountId: string } | { clientId: string },
    reason: string,
    events: AuditEvent[],
  ): Promise<{ id: string; accountId: string; clientId: string }[]> {
    const byFamily = 'familyId' in where ? where.familyId : null;
    const byGrant = 'grantIdHash' in where ? where.grantIdHash : null;
    const byAccount = 'accountId' in where ? where.accountId : null;
    const byClient = 'clientId' in where ? where.clientId : null;
    return this.prisma.$queryRaw<{ id: string; accountId: string; clientId: string }[]>`
      WITH fam AS (
        UPDATE refresh_token_families
           SET revoked_at = now(), revoked_reason = ${reason}
         WHERE revoked_at IS NULL
           AND (id = ${byFamily}::uuid OR grant_id = ${byGrant} OR account_id = ${byAccount}::uuid OR client_id = ${byClient})
        RETURNING id, account_id, client_id
      ), emptied AS (
        UPDATE refresh_tokens SET payload = NULL WHERE family_id IN (SELECT id FROM fam) AND payload IS NOT NULL
      ), audited AS (
        ${insertAuditRows('fam', { accountId: Prisma.sql`fam.account_id`, clientId: Prisma.sql`fam.client_id`, familyId: Prisma.sql`fam.id` }, events)}
      )
      SELECT id::text AS "id", account_id::text AS "accountId", client_id AS "clientId" FROM fam`;
  }
}

/**
 * Removes dead families (past their absolute or idle expiry) with their tokens, a batch per statement so no
 * lock is held for long. Live families and their consumed tokens stay: reuse detection needs them.
 */
export async function pruneDeadFamilies(
  prisma: PrismaClient,
  { batchSize = 500, maxBatches = 10_000 } = {},
): Promise<number> {
  let total = 0;
  for (let i = 0; i < maxBatches; i++) {
    const removed = await prisma.$executeRaw`
      DELETE FROM refresh_token_families WHERE id IN (
        SELECT id FROM refresh_token_families
         WHERE LEAST(idle_expires_at, expires_at) < now()
         LIMIT ${batchSize} FOR UPDATE SKIP LOCKED)`;
    total += removed;
    if (removed < batchSize) break;
  }
  return total;
}

// The rarer reads and writes of the families table, for the device lists and revocations of other modules: Prisma's
// model API, outside the token endpoint's path.

/** Live: not revoked, and neither idle- nor absolutely expired at `now`. */
const liveAt = (now: Date) => ({ revokedAt: null, idleExpiresAt: { gt: now }, expiresAt: { gt: now } });

/** Keyset position in the newest-first order: (created_at, id), both immutable. */
export interface FamilyKey {
  createdAt: Date;
  id: string;
}

/** The live families of an account, newest first, after `after`. */
export function listLiveFamilies(
  prisma: PrismaClient,
  accountId: string,
  { after, limit }: { after?: FamilyKey | undefined; limit: number },
) {
  const page = after
    ? { OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] }
    : {};
  return prisma.refreshFamily.findMany({
    where: { accountId, ...liveAt(new Date()), ...page },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit,
  });
}

/** The live families of an account, most recently used first (at most `limit`). */
export function listLiveFamiliesByLastUse(prisma: PrismaClient, accountId: string, limit: number) {
  return prisma.refreshFamily.findMany({
    where: { accountId, ...liveAt(new Date()) },
    orderBy: [{ lastUsedAt: 'desc' }, { id: 'desc' }],
    take: limit,
  });
}

/** The family's id when it is live and the account's; null otherwise. */
export async function findLiveFamilyId(prisma: PrismaClient, accountId: string, familyId: string) {
  const family = await prisma.refreshFamily.findFirst({
    where: { id: familyId, accountId, ...liveAt(new Date()) },
    select: { id: true },
  });
  return family?.id ?? null;
}

/** The ids of the account's families not revoked yet, except `except`. */
export async function unrevokedFamilyIds(prisma: PrismaClient, accountId: string, except?: string) {
  const rows = await prisma.refreshFamily.findMany({
    where: { accountId, revokedAt: null, ...(except ? { id: { not: except } } : undefined) },
    select: { id: true },
  });
  return rows.map((r) => r.id);
}

/** Records that a family was used now without a rotation (the account page's own session). */
export async function touchFamily(prisma: PrismaClient, familyId: string): Promise<void> {
  await prisma.refreshFamily.update({ where: { id: familyId }, data: { lastUsedAt: new Date() } });
}
