// Prometheus metrics (prom-client), one registry per app so that several apps in one process (tests) do not mix.
// Labels are bounded: routes are names, never raw paths; outcomes and reasons come from fixed sets.
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

import { dependencyFailureReason } from '../errors.js';
import type { RateWindow, ShortLivedStore } from '../store/types.js';

export type RefreshOutcome =
  | 'rotated'
  | 'grace_replayed'
  | 'reuse_detected'
  | 'anomaly_revoked'
  | 'expired'
  | 'invalid'
  | 'rate_limited'
  | 'error';

export interface Metrics {
  registry: Registry;
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  refreshOutcome(outcome: RefreshOutcome): void;
  familyRevoked(reason: string, count?: number): void;
  refreshAnomaly(signal: string): void;
  rateLimited(limiter: string): void;
  observeDatabase(seconds: number, failed: boolean): void;
  observeStore(command: string, seconds: number, failed: boolean): void;
  /** Counts err under tollgate_dependency_errors_total when it says the dependency is unavailable. */
  dependencyFailed(dependency: Dependency, err: unknown): void;
}

export type Dependency = 'database' | 'store';
const DEPENDENCY_REASONS = ['connection_refused', 'not_connected', 'connection_lost', 'timeout', 'other'] as const;

/**
 * prom-client hashes a label set on every observation. The series here are few and fixed (bounded labels), so
 * each is bound once and observed directly: every request observes three or more of them.
 */
function series<L extends string>(histogram: Histogram<L>) {
  const bound = new Map<string, { observe(value: number): void }>();
  return (labels: Record<L, string>, value: number) => {
    const key = Object.values(labels).join('\u0000');
    let child = bound.get(key);
    if (!child) bound.set(key, (child = histogram.labels(labels)));
    child.observe(value);
  };
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** `anomalySignals`: the refresh anomaly signals, each series started at 0 so that rate() and alerts see it at once. */
export function createMetrics({ anomalySignals = [] }: { anomalySignals?: readonly string[] } = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tollgate_' });

  const requests = new Histogram({
    name: 'tollgate_http_request_duration_seconds',
    help: 'HTTP request duration by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const refreshes = new Counter({
    name: 'tollgate_refresh_outcomes_total',
    help: 'refresh_token grant outcomes',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const revocations = new Counter({
    name: 'tollgate_family_revocations_total',
    help: 'refresh-token families revoked, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const anomalies = new Counter({
    name: 'tollgate_refresh_anomalies_total',
    help: 'refresh anomaly signals raised by rotations, by signal',
    labelNames: ['signal'] as const,
    registers: [registry],
  });
  const limited = new Counter({
    name: 'tollgate_rate_limit_rejections_total',
    help: 'requests refused by a rate limit',
    labelNames: ['limiter'] as const,
    registers: [registry],
  });
  const database = new Histogram({
    name: 'tollgate_database_query_duration_seconds',
    help: 'PostgreSQL round trips',
    labelNames: ['outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const store = new Histogram({
    name: 'tollgate_store_command_duration_seconds',
    help: 'short-lived store commands',
    labelNames: ['command', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  // Outages, by dependency and reason: connection failures too, which never become a round trip. Alerts use it.
  const dependencyErrors = new Counter({
    name: 'tollgate_dependency_errors_total',
    help: 'failures to reach PostgreSQL (database) or the short-lived store (store), by reason',
    labelNames: ['dependency', 'reason'] as const,
    registers: [registry],
  });
  for (const dependency of ['database', 'store'])
    for (const reason of DEPENDENCY_REASONS) dependencyErrors.inc({ dependency, reason }, 0);
  // Pre-create the outcome series so dashboards and ratios see zeros rather than gaps.
  for (const outcome of [
    'rotated',
    'grace_replayed',
    'reuse_detected',
    'anomaly_revoked',
    'expired',
    'invalid',
    'rate_limited',
    'error',
  ])
    refreshes.inc({ outcome }, 0);
  for (const signal of anomalySignals) anomalies.inc({ signal }, 0);

  const observeRequest = series(requests);
  const observeDatabase = series(database);
  const observeStore = series(store);

  return {
    registry,
    observeRequest: (route, method, status, seconds) =>
      observeRequest({ route, method, status: String(status) }, seconds),
    refreshOutcome: (outcome) => refreshes.inc({ outcome }),
    familyRevoked: (reason, count = 1) => revocations.inc({ reason }, count),
    refreshAnomaly: (signal) => anomalies.inc({ signal }),
    rateLimited: (limiter) => limited.inc({ limiter }),
    observeDatabase: (seconds, failed) => observeDatabase({ outcome: failed ? 'error' : 'ok' }, seconds),
    observeStore: (command, seconds, failed) => observeStore({ command, outcome: failed ? 'error' : 'ok' }, seconds),
    dependencyFailed: (dependency, err) => {
      const reason = dependencyFailureReason(err);
      if (reason) dependencyErrors.inc({ dependency, reason });
    },
  };
}

/** The store, with each command timed. Same semantics: the conformance suite holds for the wrapped store too. */
export function instrumentStore(store: ShortLivedStore, metrics: Metrics): ShortLivedStore {
  const timed =
    <A extends unknown[], R>(command: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        const result = await fn(...args);
        metrics.observeStore(command, (performance.now() - started) / 1000, false);
        return result;
      } catch (err) {
        metrics.observeStore(command, (performance.now() - started) / 1000, true);
        metrics.dependencyFailed('store', err);
        throw err;
      }
    };
  return {
    kind: store.kind,
    rateLimitDb: store.rateLimitDb,
    get: timed('get', (k: string) => store.get(k)),
    getMany: timed('getMany', (k: string[]) => store.getMany(k)),
    set: timed('set', (k: string, v: string, ttl?: number) => store.set(k, v, ttl)),
    setIfAbsent: timed('setIfAbsent', (k: string, v: string, ttl: number) => store.setIfAbsent(k, v, ttl)),
    delete: timed('delete', (...k: string[]) => store.delete(...k)),
    consume: timed('consume', (k: string, at: number) => store.consume(k, at)),
    consumedAt: timed('consumedAt', (k: string) => store.consumedAt(k)),
    fillMirror: timed('fillMirror', (k: string, v: string, ttl: number, seen: string | null) =>
      store.fillMirror(k, v, ttl, seen),
    ),
    invalidateMirror: timed('invalidateMirror', (k: string[], ttl: number) => store.invalidateMirror(k, ttl)),
    addToSet: timed('addToSet', (k: string, m: string, ttl?: number) => store.addToSet(k, m, ttl)),
    setMembers: timed('setMembers', (k: string) => store.setMembers(k)),
    increment: timed('increment', (k: string, ttl: number) => store.increment(k, ttl)),
    reserve: timed('reserve', (w: RateWindow[]) => store.reserve(w)),
    release: timed('release', (k: string[]) => store.release(k)),
    entries: () => store.entries(),
    publish: timed('publish', (c: string, m: string) => store.publish(c, m)),
    subscribe: (c: string, onMessage: (m: string) => void) => store.subscribe(c, onMessage),
    ping: timed('ping', () => store.ping()),
    close: () => store.close(),
  };
}
