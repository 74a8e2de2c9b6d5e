// WORKERS=N (N > 1): this process becomes the cluster primary. It serves nothing and opens nothing (no database,
// no store, no tracing); it forks N workers, each of which runs src/main.ts again as a whole server, and node:cluster
// shares the listening ports among them (connections handed out round-robin). PostgreSQL and Redis are what make
// them one server, as for instances on several hosts (README "Workers").
//
// - The first worker starts alone: it applies migrations and creates what a first start creates (the token-hashing
//   key, the signing keys) before any other worker opens the database. Both are guarded against racing instances
//   anyway (an advisory lock, conditional inserts); starting one first keeps a fresh deployment's start quiet.
// - A worker that dies once the cluster is serving is replaced, after a backoff that grows while replacements keep
//   dying (0.5 s, 1 s, 2 s ... 30 s) and resets once one has served for a minute. A worker that dies before the
//   cluster ever served is a start-up failure: the others are stopped and the primary exits 1, as one process would.
// - SIGTERM/SIGINT: every worker gets SIGTERM and runs the graceful stop of src/main.ts (SHUTDOWN_TIMEOUT_SECONDS);
//   the primary exits 0 once all have exited 0. One still running shortly after the timeout is killed (exit 1).
// - /metrics is the sum of every serving worker (src/observability/cluster-metrics.ts): the primary listens on
//   METRICS_PORT itself and answers workers asked on the main port. Its modules are loaded only then, in here.
import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';

import type { Config } from './config.js';
import type { Logger } from './observability/logger.js';

/** What a worker sends the primary once it listens (src/main.ts). */
export const READY_MESSAGE = 'tollgate:worker-ready';

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;
const STABLE_AFTER_MS = 60_000;
/** Beyond SHUTDOWN_TIMEOUT_SECONDS, what a worker's own exit may take before the primary kills it. */
const KILL_GRACE_MS = 2_000;

export const restartDelayMs = (failures: number) =>
  Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.max(0, failures - 1));

export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  const readyAt = new Map<Worker, number>();
  const metricsServer = await serveClusterMetrics(config, () => [...readyAt.keys()]);
  let serving = false;
  let stopping = false;
  let failures = 0;
  const pending = new Set<NodeJS.Timeout>();

  /** Forks a worker; resolves once it listens, rejects if it exits first. */
  const fork = () => {
    const worker = cluster.fork();
    const ready = new Promise<Worker>((resolve, reject) => {
      worker.on('message', (message: unknown) => {
        if (message !== READY_MESSAGE) return;
        readyAt.set(worker, Date.now());
        logger.info({ worker: worker.id, worker_pid: worker.process.pid }, 'worker ready');
        resolve(worker);
      });
      worker.once('exit', (code, signal) =>
        reject(new Error(`worker ${worker.id} exited (code ${code}, signal ${signal}) before it listened`)),
      );
    });
    worker.once('exit', (code, signal) => onExit(worker, code, signal));
    return ready;
  };

  function onExit(worker: Worker, code: number | null, signal: string | null) {
    const servedMs = Date.now() - (readyAt.get(worker) ?? Date.now());
    readyAt.delete(worker);
    if (stopping || !serving) return;
    failures = servedMs >= STABLE_AFTER_MS ? 1 : failures + 1;
    const delay = restartDelayMs(failures);
    logger.error(
      { worker: worker.id, worker_pid: worker.process.pid, code, signal, restart_in_ms: delay },
      'worker died; starting a replacement',
    );
    const timer = setTimeout(() => {
      pending.delete(timer);
      if (stopping) return;
      fork().catch((err: unknown) => logger.error({ err }, 'replacement worker failed to start'));
    }, delay);
    pending.add(timer);
  }

  /** `failed`: the cluster never served (a worker failed to start), so the exit is 1 however the others stop. */
  const stop = (signal: string, failed = false) => {
    if (stopping) return;
    stopping = true;
    for (const timer of pending) clearTimeout(timer);
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    logger.info({ signal, workers: workers.length, timeout_seconds: config.shutdownTimeoutSeconds }, 'shutting down');
    metricsServer?.close();
    metricsServer?.closeAllConnections();
    let clean = true;
    const exits = workers.map((w) =>
      w.isDead()
        ? Promise.resolve()
        : new Promise<void>((resolve) => w.once('exit', (code) => ((clean &&= code === 0), resolve()))),
    );
    for (const w of workers) if (!w.isDead()) w.process.kill('SIGTERM');
    const force = setTimeout(
      () => {
        logger.error('workers did not stop in time; killing them');
        for (const w of workers) if (!w.isDead()) w.process.kill('SIGKILL');
        process.exit(1);
      },
      config.shutdownTimeoutSeconds * 1000 + KILL_GRACE_MS,
    );
    force.unref();
    void Promise.all(exits).then(() => {
      logger.info({ clean: clean && !failed }, 'stopped');
      process.exit(clean && !failed ? 0 : 1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  void (async () => {
    try {
      const first = await fork();
      const rest = await Promise.all(Array.from({ length: config.workers - 1 }, fork));
      if (stopping) return;
      serving = true;
      logger.info(
        { workers: config.workers, worker_pids: [first, ...rest].map((w) => w.process.pid) },
        'tollgate cluster ready',
      );
    } catch (err) {
      if (stopping) return;
      logger.error({ err }, 'a worker failed to start; stopping the others');
      stop('startup-failure', true);
    }
  })();
}

/** The cluster's /metrics: gathered from the workers whatever the port; listened on here when METRICS_PORT is set. */
async function serveClusterMetrics(config: Config, serving: () => Worker[]): Promise<Server | undefined> {
  const { gatherClusterMetrics } = await import('./observability/cluster-metrics.js');
  const sum = gatherClusterMetrics(serving);
  if (!config.metrics.port) return undefined;
  const { listenMetrics } = await import('./observability/metrics-http.js');
  return listenMetrics(sum, config.metrics.port, config.metrics.host);
}
