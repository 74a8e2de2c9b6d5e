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
// Tollgate (an UPDATE by hand) shows within it.
//
// `keepCopies: false` (the composition root's choice for the embedded default): nothing is copied, every question
// goes to the database. There PGlite runs in the server's own process, so a copy would save no round trip, and the
// CLI, another process, could not invalidate copies held in the server's memory: its changes would show late.
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

/** How long an entry lives (every instance and the CLI with REDIS_URL invalidate it in Redis). */
export const MIRROR_SECONDS = 60;

// The braces are Redis Cluster hash tags: an entry and its version land in one slot, as one script needs.
const accountKey = (accountId: string) => `mirror:account:{${accountId}}`;
const grantKey = (grantIdHash: string) => `mirror:grant:{${grantIdHash}}`;

export function createMirror(
  store: ShortLivedStore,
  { accessTokenTtl, keepCopies = true }: { accessTokenTtl: number; keepCopies?: boolean },
) {
  const ttl = Math.min(MIRROR_SECONDS, accessTokenTtl);
  // Versions outlive their entries, so that a filler that read a version cannot see it expire and come back empty.
  const versionTtl = Math.max(ttl * 2, 60);

  const accountCodec = {
    encode: (state: AccountState) => ({ notBefore: state.notBefore?.getTime() ?? null, disabled: state.disabled }),
    decode: (e: Record<string, unknown>): AccountState => ({
      notBefore: typeof e.notBefore === 'number' ? new Date(e.notBefore) : null,
      disabled: e.disabled === true,
    }),
  };
  const grantCodec = {
    encode: (state: GrantState) => ({ ...state }),
    decode: (e: Record<string, unknown>): GrantState => ({
      clientId: String(e.clientId),
      accountId: typeof e.accountId === 'string' ? e.accountId : undefined,
      exp: typeof e.exp === 'number' ? e.exp : undefined,
    }),
  };

  /** An entry as read: its state (null: gone), or undefined when missing or unreadable; and its version. */
  function parse<T>(value: string | null | undefined, decode: (e: Record<string, unknown>) => T): T | null | undefined {
    if (!value) return undefined;
    try {
      const encoded = JSON.parse(value) as Record<string, unknown>;
      return encoded.gone === true ? null : decode(encoded);
    } catch {
      return undefined; // unreadable (another version wrote it): read PostgreSQL, as for a missing entry
    }
  }

  /** What `load` read from PostgreSQL, written only if the version is still `seen` (the lease). */
  async function fill<T>(key: string, seen: string | null, load: () => Promise<T | null>, encode: (s: T) => object) {
    const loaded = await load();
    await store.fillMirror(key, JSON.stringify(loaded ? encode(loaded) : { gone: true }), ttl, seen);
    return loaded;
  }

  async function through<T>(
    key: string,
    load: () => Promise<T | null>,
    { encode, decode }: { encode: (state: T) => object; decode: (e: Record<string, unknown>) => T },
  ): Promise<T | null> {
    if (!keepCopies) return load();
    const [value, version] = await store.getMany([key, versionKey(key)]);
    const state = parse(value, decode);
    return state !== undefined ? state : fill(key, version ?? null, load, encode);
  }

  return {
    /** The account's state, from the mirror, else from `load` (PostgreSQL), which fills it. */
    account(accountId: string, load: () => Promise<AccountState | null>): Promise<AccountState | null> {
      return through(accountKey(accountId), load, accountCodec);
    },
    /** The grant (by the hash of its id), from the mirror, else from `load` (PostgreSQL), which fills it. */
    grant(grantIdHash: string, load: () => Promise<GrantState | null>): Promise<GrantState | null> {
      return through(grantKey(grantIdHash), load, grantCodec);
    },
    /**
     * A token's grant and account together, in one store read (each missing one loaded and filled as above): what
     * introspection asks of a token once it has found it.
     */
    async grantAndAccount(
      grant: { idHash: string; load: () => Promise<GrantState | null> },
      account: { id: string; load: () => Promise<AccountState | null> },
    ): Promise<{ grant: GrantState | null; account: AccountState | null }> {
      if (!keepCopies) {
        const [grantState, accountState] = await Promise.all([grant.load(), account.load()]);
        return { grant: grantState, account: accountState };
      }
      const keys = [grantKey(grant.idHash), accountKey(account.id)] as const;
      const [g, gv, a, av] = await store.getMany([keys[0], versionKey(keys[0]), keys[1], versionKey(keys[1])]);
      const grantState = parse(g, grantCodec.decode);
      const accountState = parse(a, accountCodec.decode);
      const [grantFound, accountFound] = await Promise.all([
        grantState !== undefined ? grantState : fill(keys[0], gv ?? null, grant.load, grantCodec.encode),
        accountState !== undefined ? accountState : fill(keys[1], av ?? null, account.load, accountCodec.encode),
      ]);
      return { grant: grantFound, account: accountFound };
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
