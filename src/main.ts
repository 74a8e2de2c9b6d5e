// Entry point: parse the configuration once, start tracing when configured, boot, listen, and shut down gracefully
// on SIGTERM/SIGINT.
//
// This module imports only the configuration and the cluster primary (which loads nothing but node:cluster)
// statically; everything else comes in by dynamic import, in order. Under ESM the whole static import graph is loaded before any of it runs, and pg, ioredis and http can be
// instrumented only if the tracing loader hook is in place before they are loaded. So tracing starts first (its
// module is loaded only when an OTLP endpoint is set: without one, no OpenTelemetry code is loaded at all), and the
// server's modules are imported after it.
//
// WORKERS > 1: the first run of this module is the cluster primary (src/cluster.ts), which serves nothing and forks
// the workers; each worker runs this module again and takes the single-process path below, tracing included.
import cluster from 'node:cluster';

import { READY_MESSAGE, runPrimary } from './cluster.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { Tracing } from './observability/tracing.js';

function parseConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function main() {
  const config = parseConfig();
  if (config.workers > 1 && cluster.isPrimary) {
    const { createLogger } = await import('./observability/logger.js');
    await runPrimary(config, createLogger({ level: config.logLevel, bindings: { role: 'primary', pid: process.pid } }));
    return;
  }
  const tracing: Tracing | undefined = config.tracing
    ? await (await import('./observability/tracing.js')).startTracing(config.tracing)
    : undefined;
  const { createLogger } = await import('./observability/logger.js');
  const { boot } = await import('./boot.js');
  const workerMetrics = cluster.isWorker
    ? (await import('./observability/cluster-metrics.js')).workerMetrics()
    : undefined;

  // A worker's lines say which process wrote them: its requests, its errors, its shutdown.
  const logger = createLogger({
    level: config.logLevel,
    bindings: cluster.worker ? { worker: cluster.worker.id, pid: process.pid } : {},
  });
  const running = await boot(config, logger, { traceIds: tracing?.traceIds, workerMetrics });
  logger.info(
    {
      url: running.url,
      issuer: config.issuer,
      database: running.db.kind,
      store: running.store.kind,
      tracing: config.tracing ? 'otlp' : 'off',
    },
    'tollgate listening',
  );
  if (cluster.isWorker) process.send?.(READY_MESSAGE);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const timeoutMs = config.shutdownTimeoutSeconds * 1000;
    const deadline = Date.now() + timeoutMs;
    logger.info({ signal, timeout_seconds: config.shutdownTimeoutSeconds }, 'shutting down');
    // The last resort: close() cuts connections before the deadline, so this fires only if a pool hangs.
    const force = setTimeout(() => {
      logger.error('shutdown did not finish in time');
      process.exit(1);
    }, timeoutMs);
    force.unref();
    try {
      await running.close(timeoutMs);
      // Last, so that the spans of the requests that were still finishing go out too; bounded by what is left.
      await tracing?.shutdown(Math.max(0, deadline - Date.now() - 100));
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
