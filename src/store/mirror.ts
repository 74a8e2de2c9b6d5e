// The short-lived store's copy of the durable state that decides whether an access token is active: each grant's
// client, account and expiry, and each account's state (its logout-everywhere instant, disabled, deleted). With it,
// introspection answers from the store alone (no PostgreSQL round trip); PostgreSQL stays the truth.
//
// Correctness rests on three rules (docs/decisions/0008-introspection-mirror.md):
//   - a missing entry (never written, expired, evicted, flushed) means "read PostgreSQL and fill", never "active";
//   - a writer changes PostgreSQL first, then invalidates (bumps the entry's version and deletes it);
//   - a filler reads the version before it reads PostgreSQL, and writes only if the version is unchanged
//     (ShortLivedStore.fillMirror): a reader that saw the old state before a revocation committed cannot put it
//     back after the revocation's invalidate. (A memcache "lease".)
// Entries live a minute (never longer than an access token): whatever changes PostgreSQL without passing through
// Tollgate (an UPDATE by hand) shows within it. In the in-process store, which the CLI (another process) cannot
// reach, a few seconds, so that a CLI change shows within them.
import type { ShortLivedStore } from './types.js';
import { versionKey } from './types.js';

/** An account's state as token checks need it; null: the account is gone. */
export interface AccountState {
  notBefore: Date | null;
  disabled: boolean;
}

/** A grant as introspection needs it; null: the grant is gone. */
export interface GrantState {
  clientId: string;
  accountId: string | undefined;
  /** Epoch seconds; undefined: no expiry. */
  exp: number | undefined;
}

/** How long an entry lives in Redis (every instance and the CLI with REDIS_URL invalidate it there). */
export const MIRROR_SECONDS = 60;
/** In the in-process store the CLI (another process) cannot invalidate: its changes show within this many seconds. */
export const IN_PROCESS_MIRROR_SECONDS = 5;

// The braces are Redis Cluster hash tags: an entry and its version land in one slot, as one script needs.
const accountKey = (accountId: string) => `mirror:account:{${accountId}}`;
const grantKey = (grantIdHash: string) => `mirror:grant:{${grantIdHash}}`;

export function createMirror(store: ShortLivedStore, { accessTokenTtl }: { accessTokenTtl: number }) {
  const ttl = Math.min(store.kind === 'memory' ? IN_PROCESS_MIRROR_SECONDS : MIRROR_SECONDS, accessTokenTtl);
  // Versions outlive their entries, so that a filler that read a version cannot see it expire and come back empty.
  const versionTtl = Math.max(ttl * 2, 60);

  async function through<T>(
    key: string,
    load: () => Promise<T | null>,
    encode: (state: T) => Record<string, unknown>,
    decode: (encoded: Record<string, unknown>) => T,
  ): Promise<T | null> {
    const [value, version] = await store.getMany([key, versionKey(key)]);
    if (value) {
      try {
        const encoded = JSON.parse(value) as Record<string, unknown>;
        return encoded.gone === true ? null : decode(encoded);
      } catch {
        // unreadable (another version wrote it): read PostgreSQL, as for a missing entry
      }
    }
    const loaded = await load();
    await store.fillMirror(key, JSON.stringify(loaded ? encode(loaded) : { gone: true }), ttl, version ?? null);
    return loaded;
  }

  return {
    /** The account's state, from the mirror, else from `load` (PostgreSQL), which fills it. */
    account(accountId: string, load: () => Promise<AccountState | null>): Promise<AccountState | null> {
      return through(
        accountKey(accountId),
        load,
        (state) => ({ notBefore: state.notBefore?.getTime() ?? null, disabled: state.disabled }),
        (e) => ({
          notBefore: typeof e.notBefore === 'number' ? new Date(e.notBefore) : null,
          disabled: e.disabled === true,
        }),
      );
    },
    /** The grant (by the hash of its id), from the mirror, else from `load` (PostgreSQL), which fills it. */
    grant(grantIdHash: string, load: () => Promise<GrantState | null>): Promise<GrantState | null> {
      return through(
        grantKey(grantIdHash),
        load,
        (state) => ({ ...state }),
        (e) => ({
          clientId: String(e.clientId),
          accountId: typeof e.accountId === 'string' ? e.accountId : undefined,
          exp: typeof e.exp === 'number' ? e.exp : undefined,
        }),
      );
    },
    /** After an account's state changed in PostgreSQL (logout everywhere, password, disabled, enabled, deleted). */
    forgetAccount(accountId: string): Promise<void> {
      return store.invalidateMirror([accountKey(accountId)], versionTtl);
    },
    /** After grants were deleted or changed in PostgreSQL (by the hashes of their ids). */
    forgetGrants(grantIdHashes: string[]): Promise<void> {
      return store.invalidateMirror(grantIdHashes.map(grantKey), versionTtl);
    },
  };
}

export type Mirror = ReturnType<typeof createMirror>;
