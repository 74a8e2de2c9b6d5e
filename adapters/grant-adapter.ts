// oidc-provider's Grant model in PostgreSQL (`oidc_payloads`): a grant must survive restarts, or its users would be
// signed out. Refresh tokens, the other durable model, have their own adapter (families). Rows are keyed by
// the hash of the identifier; the grant id is hashed too so that revocation by grant needs no raw value.
import type { PrismaClient } from '../src/db/generated/client.js';
import type { TokenHasher } from '../src/crypto/token-hash.js';
import type { SqlRunner } from '../src/db/sql.js';
import { memoOf, peekMemo } from '../src/request/memo.js';
import { currentRequest } from '../src/request/context.js';
import type { GrantState, Mirror } from '../src/store/mirror.js';
import { epochNow, fromStored, toStored, type Payload } from '../src/store/payload.js';

export interface GrantAdapterDeps {
  prisma: PrismaClient;
  /** For the grant lookup, which every introspection makes: a named statement, without Prisma's per-query work. */
  sql: SqlRunner;
  hash: TokenHasher;
  /** The store's copy of each grant's client, account and expiry (src/store/mirror.ts), for introspection. */
  mirror: Mirror;
}

const expiry = (expiresIn?: number) => (expiresIn ? new Date(Date.now() + expiresIn * 1000) : null);
const epoch = (d: Date | null) => (d ? Math.floor(d.getTime() / 1000) : null);

export class GrantAdapter {
  readonly #model: string;
  readonly #deps: GrantAdapterDeps;

  constructor(model: string, deps: GrantAdapterDeps) {
    this.#model = model;
    this.#deps = deps;
  }

  #where(id: string) {
    return { model_id: { model: this.#model, id: this.#deps.hash(id) } };
  }

  async upsert(id: string, payload: Payload, expiresIn?: number) {
    const { prisma, hash } = this.#deps;
    const data = {
      payload: toStored(payload) as object,
      grantId: payload.grantId ? hash(payload.grantId) : null,
      expiresAt: expiry(expiresIn),
    };
    await prisma.oidcPayload.upsert({
      where: this.#where(id),
      create: { model: this.#model, id: hash(id), ...data },
      update: data,
    });
    await this.#forget(id);
  }

  /** After a grant's row changed or went: the store's copy is read again (src/store/mirror.ts). */
  async #forget(id: string) {
    if (this.#model === 'Grant') await this.#deps.mirror.forgetGrants([this.#deps.hash(id)]);
  }

  /**
   * What introspection needs of a grant (client, account, expiry): from the store's copy, else from PostgreSQL,
   * which fills it. Undefined when the grant is gone or expired.
   */
  async findState(id: string): Promise<GrantState | undefined> {
    const state = await this.#deps.mirror.grant(this.#deps.hash(id), () => this.loadState(id));
    return state && (state.exp === undefined || state.exp > epochNow()) ? state : undefined;
  }

  /** The grant's state in PostgreSQL (null: gone), what the store's copy is filled with. */
  async loadState(id: string): Promise<GrantState | null> {
    const rows = await this.#deps.sql.query<{ client_id: string; account_id: string | null; exp: string | null }>(
      `
      SELECT g.payload->>'clientId' AS client_id, g.payload->>'accountId' AS account_id,
             LEAST((g.payload->>'exp')::numeric, EXTRACT(EPOCH FROM g.expires_at))::bigint::text AS exp
        FROM oidc_payloads g
       WHERE g.model = 'Grant' AND g.id = $1`,
      [this.#deps.hash(id)],
      'tg_find_grant_state',
    );
    const row = rows[0];
    if (!row) return null;
    return {
      clientId: row.client_id,
      accountId: row.account_id ?? undefined,
      exp: row.exp === null ? undefined : Number(row.exp),
    };
  }

  async find(id: string) {
    // Grants read earlier in this request (the refresh grant's joined lookup) are not read again.
    const memo = this.#model === 'Grant' ? peekMemo(currentRequest())?.grants.get(this.#deps.hash(id)) : undefined;
    if (memo !== undefined) {
      if (!memo || (memo.expiresAt && memo.expiresAt.getTime() <= Date.now())) return Promise.resolve(undefined);
      return Promise.resolve(fromStored(memo.payload as Payload, id, null));
    }
    // Introspection only checks the grant's client, account and expiry (oidc-provider's lib/actions/introspection.js):
    // the store's copy answers, without a PostgreSQL round trip. Every other reader gets the whole grant.
    if (this.#model === 'Grant' && currentRequest()?.oidc?.route === 'introspection') {
      const state = await this.findState(id);
      return state && { kind: 'Grant', jti: id, clientId: state.clientId, accountId: state.accountId, exp: state.exp };
    }
    if (this.#model === 'Grant') return this.#findGrant(id);
    const row = await this.#deps.prisma.oidcPayload.findUnique({ where: this.#where(id) });
    if (!row || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return undefined;
    return fromStored(row.payload as Payload, id, epoch(row.consumedAt));
  }

  /**
   * A grant with its account's not-before, in one round trip: whoever looks a grant up (introspection, userinfo)
   * checks that account's logout-everywhere next, and finds it in the request memo instead of reading again.
   */
  async #findGrant(id: string): Promise<Payload | undefined> {
    const rows = await this.#deps.sql.query<{
      payload: Payload;
      expires_at: Date | null;
      consumed_at: Date | null;
      account_id: string | null;
      not_before: Date | null;
      disabled_at: Date | null;
    }>(
      `
      SELECT g.payload, g.expires_at, g.consumed_at, a.id::text AS account_id, a.not_before, a.disabled_at
        FROM oidc_payloads g
        LEFT JOIN accounts a ON a.id = CASE WHEN g.payload->>'accountId' ~ '^[0-9a-fA-F-]{36}$' THEN (g.payload->>'accountId')::uuid END
       WHERE g.model = 'Grant' AND g.id = $1`,
      [this.#deps.hash(id)],
      'tg_find_grant',
    );
    const row = rows[0];
    if (!row || (row.expires_at && new Date(row.expires_at).getTime() <= Date.now())) return undefined;
    const ctx = currentRequest();
    if (ctx && row.account_id)
      memoOf(ctx).notBefore.set(row.account_id, {
        notBefore: row.not_before ? new Date(row.not_before) : null,
        disabled: row.disabled_at !== null,
      });
    return fromStored(row.payload, id, epoch(row.consumed_at ? new Date(row.consumed_at) : null));
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  /**
   * One conditional write: of any number of racing callers (on any instance), exactly one sees true. An expired
   * row not yet pruned counts as absent, as it does for find and for the short-lived store.
   */
  async consume(id: string) {
    const now = new Date();
    const { count } = await this.#deps.prisma.oidcPayload.updateMany({
      where: {
        model: this.#model,
        id: this.#deps.hash(id),
        consumedAt: null,
        OR: [{ expiresAt: null }, { expiresAt: { gt: now } }],
      },
      data: { consumedAt: now },
    });
    return count === 1;
  }

  async destroy(id: string) {
    await this.#deps.prisma.oidcPayload.deleteMany({ where: { model: this.#model, id: this.#deps.hash(id) } });
    await this.#forget(id);
  }

  async revokeByGrantId(grantId: string) {
    await this.#deps.prisma.oidcPayload.deleteMany({
      where: { model: this.#model, grantId: this.#deps.hash(grantId) },
    });
    await this.#forget(grantId); // a grant's own grantId is its id
  }
}
