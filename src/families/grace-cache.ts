// The grace window's memory: the first response to a refresh, sealed, stored in the short-lived store under the
// hash of the token that was presented, for REFRESH_REUSE_GRACE_SECONDS. Writing it is also how concurrent
// presentations agree on one outcome: setIfAbsent lets exactly one request claim the rotation, and every other
// presentation inside the window reads the claimant's response instead of rotating again.
import type { Sealer } from '../crypto/seal.js';
import type { ShortLivedStore } from '../store/types.js';
import type { Payload } from '../store/payload.js';
import type { RotationCheck } from './repository.js';

export type TokenResponse = Record<string, unknown> & { refresh_token: string; access_token: string };

export interface Rotation {
  response: TokenResponse;
  /** `usedAt`: the rotation's time, stored as the family's last use (absent in entries cached by older versions). */
  successor: { hash: string; payload: Payload; expiresAt: number; usedAt?: number };
  /** Store key of the access token issued with it (discarded if this rotation loses). */
  accessTokenKey: string;
  /** Built from a snapshot: what its commit must find still true, whoever commits it (src/families/token-snapshots.ts). */
  check?: RotationCheck;
}

const keyFor = (presentedHash: string) => `rt:grace:${presentedHash}`;

export class GraceCache {
  constructor(
    private readonly store: ShortLivedStore,
    private readonly sealer: Sealer,
    readonly seconds: number,
  ) {}

  get enabled() {
    return this.seconds > 0;
  }

  /** True when this caller now owns the rotation of the presented token. */
  claim(presentedHash: string, rotation: Rotation): Promise<boolean> {
    const key = keyFor(presentedHash);
    return this.store.setIfAbsent(key, this.sealer.seal(JSON.stringify(rotation), key), this.seconds);
  }

  async read(presentedHash: string): Promise<Rotation | undefined> {
    const key = keyFor(presentedHash);
    const sealed = await this.store.get(key);
    if (!sealed) return undefined;
    try {
      return JSON.parse(this.sealer.open(sealed, key)) as Rotation;
    } catch {
      return undefined; // sealed under another secret: treat as absent
    }
  }

  /** Gives the claim up (the rotation failed before committing) so that a retry can rotate. */
  release(presentedHash: string): Promise<void> {
    return this.store.delete(keyFor(presentedHash));
  }
}
