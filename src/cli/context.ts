// What every CLI command gets: the parsed configuration, the durable database (joined over the embedded
// server's socket when one runs, opened directly otherwise; migrated either way) and the token hasher.
import type { Config } from '../config.js';
import { deriveKeys, resolveSecret, type DerivedKeys } from '../crypto/secrets.js';
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
  const keys = deriveKeys(await resolveSecret(config));
  const db = await openDatabase(config, { serve: false });
  try {
    await migrate(db.sql);
  } catch (err) {
    await db.close();
    throw err;
  }
  return { config, db, keys, hash: createTokenHasher(keys.tokenHash), stdin };
}
