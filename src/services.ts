// The one composition root below the application: what the server (src/boot.ts, src/app.ts), the CLI
// (src/cli/context.ts and its commands) and the tests (through boot) build from the configuration. Built here
// once, they cannot drift apart: a CLI that revoked families under another policy than the server's would be a bug
// nobody sees.
import type { Audit } from './audit/audit.js';
import type { Config } from './config.js';
import { createSealer } from './crypto/seal.js';
import { deriveKeys, resolveSecret, type DerivedKeys } from './crypto/secrets.js';
import { resolveTokenHashKey } from './crypto/stored-keys.js';
import { createTokenHasher, type TokenHasher } from './crypto/token-hash.js';
import { openDatabase, type Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { Families } from './families/families.js';
import { FamilyRepository } from './families/repository.js';
import type { Metrics } from './observability/metrics.js';
import { createMirror } from './store/mirror.js';
import type { ShortLivedStore } from './store/types.js';

export interface Foundation {
  keys: DerivedKeys;
  db: Database;
  hash: TokenHasher;
  /** Migrations this opening applied (the server logs them). */
  applied: string[];
}

/**
 * Keys derived from the root secret, the durable database opened and migrated, and the token-hashing key resolved
 * (stored sealed, so that a rotated root secret changes no hash). `serve`: this process is the server (in embedded
 * mode it owns the database); the CLI joins a running server's database or opens it itself.
 */
export async function openFoundation(config: Config, { serve }: { serve: boolean }): Promise<Foundation> {
  const keys = deriveKeys(await resolveSecret(config), config.secretPrevious);
  const db = await openDatabase(config, { serve });
  try {
    const applied = await migrate(db.sql);
    keys.tokenHash = await resolveTokenHashKey(db.prisma, createSealer(keys.seal, keys.sealPrevious), keys.tokenHash);
    return { keys, db, hash: createTokenHasher(keys.tokenHash), applied };
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

export interface FamilyDeps {
  config: Config;
  db: Database;
  store: ShortLivedStore;
  hash: TokenHasher;
  audit: Audit;
  metrics?: Pick<Metrics, 'familyRevoked'>;
}

/** The only door to refresh-token families, under the configured policy. */
export function createFamilies({ config, db, store, hash, audit, metrics }: FamilyDeps): Families {
  return new Families(
    new FamilyRepository(db.prisma, db.sql),
    store,
    hash,
    audit,
    {
      idleTtlSeconds: config.refreshIdleTtl,
      maxTtlSeconds: config.refreshFamilyMaxTtl,
      velocityMax: config.refreshVelocity.max,
      velocityWindowSeconds: config.refreshVelocity.windowSeconds,
      reuseResponse: config.reuseResponse,
    },
    // Copies of grant and account state only in Redis: see src/store/mirror.ts on the embedded default.
    createMirror(store, { accessTokenTtl: config.accessTokenTtl, keepCopies: store.kind === 'redis' }),
    metrics,
  );
}
