// Refresh-token families as a service: start one, find a presented token, rotate, revoke exactly one family (or
// every family of a grant or account) together with the access tokens issued from it, and rate its rotations.
import { randomUUID } from 'node:crypto';

import type { Audit, AuditEvent } from '../audit/audit.js';
import type { TokenHasher } from '../crypto/token-hash.js';
import type { Metrics } from '../observability/metrics.js';
import type { Mirror } from '../store/mirror.js';
import type { ShortLivedStore } from '../store/types.js';
import type { Payload } from '../store/payload.js';
import type { FamilyRepository, FamilyRow, TokenRow } from './repository.js';

export interface FamilyPolicy {
  idleTtlSeconds: number;
  maxTtlSeconds: number;
  velocityMax: number;
  velocityWindowSeconds: number;
  /** What a reused refresh token revokes: its family (default), or every family of its account. */
  reuseResponse?: 'family' | 'account';
}

const accessTokensKey = (familyId: string) => `rt:family:${familyId}:at`;

export interface StartFamily {
  tokenId: string;
  payload: Payload;
  ip: string | null;
  userAgent: string | null;
  /** Store keys of access tokens issued together with the first refresh token. */
  accessTokenKeys: string[];
  accessTokenTtl: number;
}

export class Families {
  constructor(
    private readonly repo: FamilyRepository,
    private readonly store: ShortLivedStore,
    private readonly hash: TokenHasher,
    private readonly audit: Audit,
    readonly policy: FamilyPolicy,
    /** The store's copy of grant and account state (src/store/mirror.ts), which account and grant changes end. */
    readonly mirror: Mirror,
    private readonly metrics?: Pick<Metrics, 'familyRevoked'>,
  ) {}

  /**
   * Starts a family (an authorization-code exchange) with its first token; returns that token's row, as findToken
   * would read it (its snapshot is made of it: src/families/token-snapshots.ts).
   */
  async start({ tokenId, payload, ip, userAgent, accessTokenKeys, accessTokenTtl }: StartFamily): Promise<TokenRow> {
    const now = Date.now();
    const familyExpiresAt = new Date(now + this.policy.maxTtlSeconds * 1000);
    const exp = typeof payload.exp === 'number' ? payload.exp * 1000 : now + this.policy.idleTtlSeconds * 1000;
    const familyId = randomUUID();
    const row = await this.repo.createFamily({
      familyId,
      tokenHash: this.hash(tokenId),
      payload,
      accountId: String(payload.accountId),
      clientId: String(payload.clientId),
      grantIdHash: this.hash(String(payload.grantId)),
      ip,
      userAgent,
      tokenExpiresAt: new Date(Math.min(exp, familyExpiresAt.getTime())),
      familyExpiresAt,
    });
    for (const key of accessTokenKeys) await this.trackAccessToken(familyId, key, accessTokenTtl);
    return row;
  }

  /** The presented refresh token's row, with its family, grant and account; undefined when unknown. */
  findToken(tokenValue: string): Promise<TokenRow | undefined> {
    return this.repo.findToken(this.hash(tokenValue));
  }

  /** Consumes a token and inserts its successor, atomically (see FamilyRepository.rotate). */
  rotate(input: Parameters<FamilyRepository['rotate']>[0]): Promise<boolean> {
    return this.repo.rotate(input);
  }

  /** Whether a token (by hash) has been consumed: the grace window asks about a successor. */
  consumedAt(idHash: string): Promise<{ consumedAt: Date | null } | undefined> {
    return this.repo.consumedAt(idHash);
  }

  /** Remembers an access token issued from a family, so that revoking the family reaches it. */
  trackAccessToken(familyId: string, accessTokenKey: string, ttlSeconds: number): Promise<void> {
    return this.store.addToSet(accessTokensKey(familyId), accessTokenKey, ttlSeconds);
  }

  /** The successor's expiry: idle lifetime from now, never past the family's absolute end. */
  successorExpiry(family: FamilyRow): Date {
    return new Date(Math.min(Date.now() + this.policy.idleTtlSeconds * 1000, family.expiresAt.getTime()));
  }

  /** Counts a rotation; returns seconds to wait when the family rotates faster than the policy allows. */
  async velocityExceeded(familyId: string): Promise<number | undefined> {
    const { count, resetMs } = await this.store.increment(`rt:velocity:${familyId}`, this.policy.velocityWindowSeconds);
    return count > this.policy.velocityMax ? Math.max(1, Math.ceil(resetMs / 1000)) : undefined;
  }

  /** Revokes one family and every access token issued from it; the events are written with the revocation. */
  async revokeFamily(familyId: string, reason: string, events: AuditEvent[]): Promise<boolean> {
    const revoked = await this.repo.revoke({ familyId }, reason, events);
    if (revoked.length) this.metrics?.familyRevoked(reason, revoked.length);
    await this.dropAccessTokens([familyId]);
    for (const family of revoked) for (const event of events) this.audit.mirror({ ...event, ...this.#who(family) });
    return revoked.length > 0;
  }

  /** Revokes every family of a grant (code replay, RFC 7009), an account (logout everywhere) or a client (deleted). */
  async revokeWhere(
    where: { grantIdHash: string } | { accountId: string } | { clientId: string },
    reason: string,
    events: AuditEvent[] = [],
  ) {
    const revoked = await this.repo.revoke(where, reason, events);
    if (revoked.length) this.metrics?.familyRevoked(reason, revoked.length);
    await this.dropAccessTokens(revoked.map((f) => f.id));
    for (const family of revoked) for (const event of events) this.audit.mirror({ ...event, ...this.#who(family) });
    return revoked;
  }

  /**
   * Logs an account out everywhere: first its not-before instant with `accountEvents` (user.logged_out_everywhere),
   * so every token issued earlier is inactive at once, then every family with its access tokens, each with
   * `familyEvents`. Repeating it after a failure in between is harmless.
   */
  async logOutAccount(accountId: string, reason: string, accountEvents: AuditEvent[], familyEvents: AuditEvent[]) {
    if (!(await this.repo.markLoggedOutEverywhere(accountId, accountEvents))) return undefined;
    await this.mirror.forgetAccount(accountId);
    for (const event of accountEvents) this.audit.mirror({ ...event, accountId });
    return this.revokeWhere({ accountId }, reason, familyEvents);
  }

  #who(family: { id: string; accountId: string; clientId: string }) {
    return { familyId: family.id, accountId: family.accountId, clientId: family.clientId };
  }

  async dropAccessTokens(familyIds: string[]): Promise<void> {
    for (const familyId of familyIds) {
      const index = accessTokensKey(familyId);
      const keys = await this.store.setMembers(index);
      await this.store.delete(...keys, ...keys.map((k) => `${k}#consumed`), index);
    }
  }
}
