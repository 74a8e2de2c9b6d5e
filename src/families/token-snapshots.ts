// Snapshots of refresh-token rows in the short-lived store, so that a refresh costs one PostgreSQL round trip
// instead of two. When a token is issued (a family's start, each rotation) the row FamilyRepository.findToken would
// read for it (token payload, family, grant, account) is written here, sealed, under a key derived from the token's
// HMAC. The refresh grant reads it instead of the lookup and builds the rotation on it.
//
// A snapshot lives as long as its token, but never longer than `maxSeconds` (by default the longer of an hour and
// four access-token lifetimes): a client in use refreshes about once per access-token lifetime, so its next refresh
// finds the snapshot, while the tokens of clients that went quiet (most of them, for 14-day refresh tokens) stop
// costing the store ~2.5 KB each and take the lookup's round trip when they come back.
//
// A snapshot is a hint, never the truth: the rotating statement compares every fact the rotation was built on with
// the rows, under the token's row lock (RotationCheck in repository.ts), and rotates nothing when one differs; the
// grant then answers from the lookup as it did before snapshots existed. So a missing snapshot (Redis flushed, an
// embedded restart, tokens issued before snapshots) or a stale one (the account changed, the family was revoked)
// costs a round trip, never a wrong answer.
//
// Sealed (AES-256-GCM with the key as additional data): nothing readable at rest, and a value cannot be moved under
// another token's key.
import type { Sealer } from '../crypto/seal.js';
import type { Device } from '../request/device.js';
import type { ShortLivedStore } from '../store/types.js';
import type { Payload } from '../store/payload.js';
import type { FamilyRow, TokenRow } from './repository.js';

const keyFor = (tokenHash: string) => `rt:snap:${tokenHash}`;

const date = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string));

/** Dates come back from JSON as strings: each is restored by name. */
function revive(raw: TokenRow): TokenRow {
  const f = raw.family;
  const family: FamilyRow = {
    ...f,
    createdAt: new Date(f.createdAt),
    lastUsedAt: new Date(f.lastUsedAt),
    idleExpiresAt: new Date(f.idleExpiresAt),
    expiresAt: new Date(f.expiresAt),
    revokedAt: date(f.revokedAt),
  };
  return {
    ...raw,
    expiresAt: new Date(raw.expiresAt),
    consumedAt: date(raw.consumedAt),
    family,
    grant: raw.grant && { payload: raw.grant.payload, expiresAt: date(raw.grant.expiresAt) },
    account: raw.account && {
      ...raw.account,
      emailVerifiedAt: date(raw.account.emailVerifiedAt),
      disabledAt: date(raw.account.disabledAt),
      notBefore: date(raw.account.notBefore),
    },
  };
}

/** What a rotation of `parent` writes, as the successor's row will read once the rotating statement commits. */
export interface Successor {
  hash: string;
  payload: Payload;
  expiresAt: number;
  /** The rotation's time, which the statement stores as the family's last use. */
  usedAt?: number | undefined;
}

/**
 * The successor's row, mirroring FamilyRepository.rotate: the family's last use, count, idle expiry, address, user
 * agent and streak as that statement sets them. A mirror that drifted from the statement would only make every
 * snapshot fail its check (test/performance/round-trips.test.ts would see the second round trip).
 */
export function successorRow(parent: TokenRow, successor: Successor, device: Device, rapidStreak?: number): TokenRow {
  const expiresAt = new Date(successor.expiresAt);
  return {
    id: successor.hash,
    parentId: parent.id,
    generation: parent.generation + 1,
    payload: JSON.parse(JSON.stringify(successor.payload)) as Payload, // as stored: undefined members dropped
    expiresAt,
    consumedAt: null,
    grant: parent.grant,
    account: parent.account,
    family: {
      ...parent.family,
      lastUsedAt: new Date(successor.usedAt ?? Date.now()),
      refreshCount: parent.family.refreshCount + 1,
      idleExpiresAt: expiresAt,
      lastIp: device.ip ?? parent.family.ip,
      lastUserAgent: device.userAgent ?? parent.family.userAgent,
      rapidStreak: rapidStreak ?? parent.family.rapidStreak,
    },
  };
}

/** The default cap on a snapshot's life: an hour, or four access-token lifetimes when that is longer. */
export const snapshotMaxSeconds = (accessTokenTtl: number) => Math.max(3600, 4 * accessTokenTtl);

export class TokenSnapshots {
  constructor(
    private readonly store: ShortLivedStore,
    private readonly sealer: Sealer,
    private readonly maxSeconds: number,
  ) {}

  key(tokenHash: string): string {
    return keyFor(tokenHash);
  }

  /** The snapshot of a token (by hash); undefined when there is none or it does not open (another secret). */
  async read(tokenHash: string): Promise<TokenRow | undefined> {
    const key = keyFor(tokenHash);
    const sealed = await this.store.get(key);
    if (!sealed) return undefined;
    try {
      const row = revive(JSON.parse(this.sealer.open(sealed, key)) as TokenRow);
      return row.id === tokenHash ? row : undefined;
    } catch {
      return undefined;
    }
  }

  /** Writes a token's snapshot, for as long as the token lives (at most maxSeconds). */
  async write(row: TokenRow): Promise<void> {
    const ttl = Math.min(this.maxSeconds, Math.ceil((row.expiresAt.getTime() - Date.now()) / 1000));
    if (ttl <= 0) return;
    const key = keyFor(row.id);
    await this.store.set(key, this.sealer.seal(JSON.stringify(row), key), ttl);
  }

  delete(...tokenHashes: string[]): Promise<void> {
    return this.store.delete(...tokenHashes.map(keyFor));
  }
}
