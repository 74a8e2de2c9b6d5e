// Start-up in the order of docs/architecture.md: config → database → migrations (src/services.ts) → store → app. Used by src/main.ts and by
// the tests, which boot real servers against their own databases.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type Koa from 'koa';

import { createApp, type App } from './app.js';
import { StartupError } from './errors.js';
import { drainable, type Drainer } from './http/graceful.js';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import type { Logger } from './observability/logger.js';
import type { TraceIds } from './observability/request-logger.js';
import { pruneExpired, startPruneJob } from './families/prune.js';
import type { WorkerMetrics } from './observability/cluster-metrics.js';
import { listenMetrics } from './observability/metrics-http.js';
import { openFoundation } from './services.js';
import { openStore } from './store/index.js';
import type { ShortLivedStore } from './store/types.js';

export interface Running extends App {
  server: Server;
  url: string;
  db: Database;
  store: ShortLivedStore;
  /** The admin listener's base URL when ADMIN_PORT is set. */
  adminUrl: string | undefined;
  /**
   * Graceful stop: /readyz answers 503 at once, the listener stops accepting, in-flight requests finish (their
   * sockets then close), pools close. Connections still open `timeoutMs` before the end are cut.
   */
  close(timeoutMs?: number): Promise<void>;
}

export interface BootOptions {
  /** Given by src/main.ts when tracing is on, so that each request's log line names its trace. */
  traceIds?: TraceIds | undefined;
  /**
   * A cluster worker's side of the cluster's metrics (WORKERS > 1): /metrics serves every worker's sum, this
   * process's registry is shared with the primary, and METRICS_PORT is the primary's to serve.
   */
  workerMetrics?: WorkerMetrics | undefined;
}

export async function boot(
  config: Config,
  logger: Logger,
  { traceIds, workerMetrics }: BootOptions = {},
): Promise<Running> {
  const { keys, db, applied } = await openFoundation(config, { serve: true });
  if (applied.length) logger.info({ applied }, 'migrations applied');
  let store: ShortLivedStore | undefined;
  try {
    store = await openStore(config);
    let drainer: Drainer | undefined;
    const app = await createApp({
      config,
      db,
      store,
      logger,
      keys,
      traceIds,
      isDraining: () => drainer?.draining ?? false,
      ...(workerMetrics ? { metricsSource: workerMetrics.source } : {}),
    });
    workerMetrics?.share(app.metrics.registry);
    const server = createServer(app.koa.callback());
    drainer = drainable(server);
    const draining = drainer;
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new StartupError(
            `cannot listen on ${config.host ?? '*'}:${config.port} (PORT${config.host ? ', HOST' : ''}): ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`,
            { cause: err },
          ),
        ),
      );
      server.listen(config.port, config.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const opened = store;
    const adminServer = app.admin ? await listenAdmin(app.admin.callback(), config) : undefined;
    const adminDrainer = adminServer ? drainable(adminServer) : undefined;
    const metricsServer =
      config.metrics.port && !workerMetrics
        ? await listenMetrics(app.metrics.registry, config.metrics.port, config.metrics.host)
        : undefined;
    const stopPruning = startPruneJob({
      store,
      logger,
      intervalSeconds: config.pruneIntervalSeconds,
      prune: () => pruneExpired(db.prisma),
    });
    app.backchannel.start();
    return {
      ...app,
      server,
      adminUrl: adminServer
        ? `http://${config.admin.host.includes(':') ? `[${config.admin.host}]` : config.admin.host}:${(adminServer.address() as AddressInfo).port}`
        : undefined,
      url: `http://localhost:${port}`,
      db,
      store: opened,
      async close(timeoutMs = config.shutdownTimeoutSeconds * 1000) {
        stopPruning();
        await app.backchannel.stop();
        // Connections are cut a little before the end so that closing the pools still fits in the budget.
        const deadline = Date.now() + Math.max(200, timeoutMs - Math.min(1500, timeoutMs / 4));
        metricsServer?.close();
        metricsServer?.closeAllConnections();
        await Promise.all([draining.drain(deadline), adminDrainer?.drain(deadline)]);
        await app.signingKeys.close();
        await opened.close();
        await db.close();
      },
    };
  } catch (err) {
    await store?.close().catch(() => {});
    await db.close().catch(() => {});
    throw err;
  }
}

/** The admin API's own listener (ADMIN_PORT on ADMIN_HOST, loopback by default). */
async function listenAdmin(handler: ReturnType<Koa['callback']>, config: Config): Promise<Server> {
  const server = createServer(handler);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new StartupError(
          `cannot listen on ${config.admin.host}:${config.admin.port} (ADMIN_PORT, ADMIN_HOST): ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`,
          { cause: err },
        ),
      ),
    );
    server.listen(config.admin.port, config.admin.host, () => resolve());
  });
  return server;
}
