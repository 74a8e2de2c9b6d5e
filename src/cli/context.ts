// What every CLI command gets: the parsed configuration, the durable database (joined over the embedded
// server's socket when one runs, opened directly otherwise; migrated either way) and the token hasher.
import type { Config } from '../config.js';
import { createSealer } from '../crypto/seal.js';
import { deriveKeys, resolveSecret, type DerivedKeys } from '../crypto/secrets.js';
import { resolveTokenHashKey } from '../crypto/stored-keys.js';
import { createTokenHasher, type TokenHasher } from '../crypto/token-hash.js';
import { openDatabase, type Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';

export interface CliContext {
  config: Config;
  db: Database;
  keys: DerivedKeys;
  hash: TokenHasher;
  stdin(): Promise<string>;
}

export async function openCliContext(config: Config, stdin: () => Promise<string>): Promise<CliContext> {
  const keys = deriveKeys(await resolveSecret(config), config.secretPrevious);
  const db = await openDatabase(config, { serve: false });
  try {
    await migrate(db.sql);
    keys.tokenHash = await resolveTokenHashKey(db.prisma, createSealer(keys.seal, keys.sealPrevious), keys.tokenHash);
  } catch (err) {
    await db.close();
    throw err;
  }
  return { config, db, keys, hash: createTokenHasher(keys.tokenHash), stdin };
}

/** Thrown by a dry-run context the moment a command first needs storage: its arguments were all checked by then. */
export class NeedsStorage extends Error {}

/**
 * A context without storage: a command run against it parses and checks its arguments (and reads stdin) and stops
 * at its first use of the database or keys. The CLI runs each command this way first, so a mistyped option is
 * reported without opening (or creating) a database.
 */
export function dryRunContext(config: Config, stdin: () => Promise<string>): CliContext {
  const stop = (): never => {
    throw new NeedsStorage('storage needed');
  };
  return {
    config,
    stdin,
    get db() {
      return stop();
    },
    get keys() {
      return stop();
    },
    get hash() {
      return stop();
    },
  };
}
