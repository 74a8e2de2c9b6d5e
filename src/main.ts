// Entry point: parse the configuration once, boot, listen, and shut down gracefully on SIGTERM/SIGINT.
import { boot } from './boot.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './observability/logger.js';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  const running = await boot(config, logger);
  logger.info(
    { url: running.url, issuer: config.issuer, database: running.db.kind, store: running.store.kind },
    'tollgate listening',
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const timeoutMs = config.shutdownTimeoutSeconds * 1000;
    logger.info({ signal, timeout_seconds: config.shutdownTimeoutSeconds }, 'shutting down');
    // The last resort: close() cuts connections before the deadline, so this fires only if a pool hangs.
    const force = setTimeout(() => {
      logger.error('shutdown did not finish in time');
      process.exit(1);
    }, timeoutMs);
    force.unref();
    try {
      await running.close(timeoutMs);
      logger.info('stopped');
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`tollgate failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
