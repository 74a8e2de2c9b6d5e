// oidc-provider's RefreshToken model on refresh-token families. oidc-provider saves a refresh token only when a
// code is exchanged (our refresh_token grant, src/oidc/grants/refresh-token.ts, rotates without the adapter), so
// every upsert starts a family: device metadata from the request, the access token issued alongside tracked.
import type { AuditEvent } from '../src/audit/audit.js';
import type { Families } from '../src/families/families.js';
import type { TokenSnapshots } from '../src/families/token-snapshots.js';
import type { TokenHasher } from '../src/crypto/token-hash.js';
import type { ShortLivedStore } from '../src/store/types.js';
import { deviceOf } from '../src/request/device.js';
import { currentRequest } from '../src/request/context.js';
import { fromStored, toStored, type Payload } from '../src/store/payload.js';
import { storeKeyFor } from '../src/store/keys.js';

const revokedEvent = (reason: string): AuditEvent => {
  const ctx = currentRequest();
  return {
    type: 'refresh_token.family_revoked',
    outcome: 'revoked',
    detail: { reason },
    ...deviceOf(ctx),
  };
};

export class RefreshTokenAdapter {
  constructor(
    private readonly families: Families,
    private readonly store: ShortLivedStore,
    private readonly hash: TokenHasher,
    private readonly accessTokenTtl: number,
    /** The first token's snapshot, so that its first refresh costs one round trip (src/families/token-snapshots.ts). */
    private readonly snapshots: TokenSnapshots,
  ) {}

  async upsert(id: string, payload: Payload) {
    const ctx = currentRequest();
    const accessToken = ctx?.oidc?.entities?.AccessToken as { jti?: string; format?: string } | undefined;
    const accessTokenKeys = accessToken?.jti ? [storeKeyFor(this.hash, 'AccessToken', accessToken.jti)] : [];
    const row = await this.families.start({
      tokenId: id,
      payload: toStored(payload),
      ...deviceOf(ctx),
      accessTokenKeys,
      accessTokenTtl: this.accessTokenTtl,
    });
    await this.snapshots.write(row);
  }

  /**
   * Introspection and revocation look tokens up here: consumed, expired or revoked ones are not found. Without a
   * token_type_hint oidc-provider asks every model at once; a value the store knows as an access token is not a
   * refresh token, and one store read spares the database query.
   */
  async find(id: string) {
    const known = await this.store.getMany([
      storeKeyFor(this.hash, 'AccessToken', id),
      storeKeyFor(this.hash, 'ClientCredentials', id),
    ]);
    if (known.some((v) => v !== null)) return undefined;
    const row = await this.families.findToken(id);
    if (!row || !row.payload || row.consumedAt || row.family.revokedAt) return undefined;
    if (row.expiresAt.getTime() <= Date.now() || row.family.expiresAt.getTime() <= Date.now()) return undefined;
    return fromStored(row.payload, id, null);
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  /** Not used by Tollgate's own grant; refuses, rather than pretending to consume outside a rotation. */
  async consume(): Promise<boolean> {
    throw new Error('refresh tokens are consumed by rotation (src/oidc/grants/refresh-token.ts)');
  }

  /** RFC 7009 revocation of a refresh token: its whole family goes, with the family's access tokens. */
  async destroy(id: string) {
    const row = await this.families.findToken(id);
    if (!row) return;
    await this.families.revokeFamily(row.family.id, 'revoked_by_client', [revokedEvent('revoked_by_client')]);
    await this.snapshots.delete(row.id); // cheap here; a refresh would find it stale anyway
  }

  async revokeByGrantId(grantId: string) {
    await this.families.revokeWhere({ grantIdHash: this.hash(grantId) }, 'grant_revoked', [
      revokedEvent('grant_revoked'),
    ]);
  }
}
