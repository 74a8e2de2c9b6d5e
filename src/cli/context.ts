// What every CLI command gets: the parsed configuration, the durable database (joined over the embedded
// server's socket when one runs, opened directly otherwise; migrated either way), the token hasher, a logger on
// stderr (stdout is the command's JSON result) and the audit trail, whose events are mirrored to that logger.
import { createAudit, type Audit } from '../audit/audit.js';
import type { Config } from '../config.js';
import type { DerivedKeys } from '../crypto/secrets.js';
import type { TokenHasher } from '../crypto/token-hash.js';
import type { Database } from '../db/database.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { openFoundation } from '../services.js';

export interface CliContext {
  config: Config;
  db: Database;
  keys: DerivedKeys;
  hash: TokenHasher;
  logger: Logger;
  audit: Audit;
  stdin(): Promise<string>;
}

/** The run's input and its stderr (the process's, or a test's: src/cli/run.ts). */
export interface CliStreams {
  stdin(): Promise<string>;
  stderr: NodeJS.WritableStream;
}

const stderrLogger = (config: Config, stderr: NodeJS.WritableStream) =>
  createLogger({ level: config.logLevel }, stderr);

export async function openCliContext(config: Config, { stdin, stderr }: CliStreams): Promise<CliContext> {
  const { keys, db, hash } = await openFoundation(config, { serve: false });
  const logger = stderrLogger(config, stderr);
  return { config, db, keys, hash, logger, audit: createAudit(db.prisma, logger), stdin };
}

/** Thrown by a dry-run context the moment a command first needs storage: its arguments were all checked by then. */
export class NeedsStorage extends Error {}

/**
 * A context without storage: a command run against it parses and checks its arguments (and reads stdin) and stops
 * at its first use of the database or keys. The CLI runs each command this way first, so a mistyped option is
 * reported without opening (or creating) a database.
 */
export function dryRunContext(config: Config, { stdin, stderr }: CliStreams): CliContext {
  const stop = (): never => {
    throw new NeedsStorage('storage needed');
  };
  return {
    config,
    stdin,
    logger: stderrLogger(config, stderr),
    get audit() {
      return stop();
    },
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
