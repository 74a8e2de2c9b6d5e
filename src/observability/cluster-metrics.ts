// WORKERS > 1: one /metrics for the whole cluster. Each worker's registry holds only what that process saw, and a
// scrape lands on whichever worker gets the connection, so a per-process answer would jump between workers. The
// primary gathers the registry of every worker that is serving (as JSON, over node:cluster's IPC channel) and adds
// them up with prom-client's AggregatorRegistry.aggregate: counters and histograms summed, each default process
// metric by its own aggregator. The primary serves METRICS_PORT itself; a scrape on the main port (METRICS_TOKEN)
// is answered by a worker that asks the primary for the same sum.
import cluster, { type Worker } from 'node:cluster';

import { AggregatorRegistry, Registry } from 'prom-client';

import type { MetricsSource } from './metrics-http.js';

const COLLECT = 'tollgate:metrics-collect'; // primary → worker: your registry, please
const COLLECTED = 'tollgate:metrics-collected'; // worker → primary: { id, metrics }
const EXPOSE = 'tollgate:metrics-expose'; // worker → primary: the cluster's sum, please (a scrape on the main port)
const EXPOSED = 'tollgate:metrics-exposed'; // primary → worker: { id, text }

/** A worker that does not answer within this is left out of the sum (it is starting, stopping or stuck). */
const COLLECT_TIMEOUT_MS = 2000;

/** One worker's registry, as getMetricsAsJSON gives it (what aggregate() adds up). */
type RegistryJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

interface Message {
  type?: unknown;
  id?: unknown;
  metrics?: RegistryJson;
  text?: string;
  error?: string;
}

const isMessage = (value: unknown): value is Message => typeof value === 'object' && value !== null;

/** In the primary: sums the registries of `serving()` workers; answers workers' requests for the sum. */
export function gatherClusterMetrics(serving: () => Worker[]): MetricsSource {
  let next = 0;
  const pending = new Map<number, (metrics: RegistryJson | undefined) => void>();

  async function sum(): Promise<string> {
    const parts = await Promise.all(
      serving().map(
        (worker) =>
          new Promise<RegistryJson | undefined>((resolve) => {
            const id = next++;
            const timer = setTimeout(() => (pending.delete(id), resolve(undefined)), COLLECT_TIMEOUT_MS);
            pending.set(id, (metrics) => (clearTimeout(timer), pending.delete(id), resolve(metrics)));
            worker.send({ type: COLLECT, id }, (err: Error | null) => err && pending.get(id)?.(undefined));
          }),
      ),
    );
    return AggregatorRegistry.aggregate(parts.filter((p): p is RegistryJson => p !== undefined)).metrics();
  }

  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isMessage(message)) return;
    if (message.type === COLLECTED && typeof message.id === 'number') pending.get(message.id)?.(message.metrics);
    if (message.type === EXPOSE) {
      sum().then(
        (text) => worker.send({ type: EXPOSED, id: message.id, text }),
        (err: unknown) => worker.send({ type: EXPOSED, id: message.id, error: String(err) }),
      );
    }
  });
  return { contentType: Registry.PROMETHEUS_CONTENT_TYPE, metrics: sum };
}

/**
 * In a worker: answers the primary's requests for `registry` (once the app exists), and returns the source that
 * /metrics on the main port serves: the cluster's sum, asked of the primary.
 */
export interface WorkerMetrics {
  /** The cluster's sum, asked of the primary: what /metrics on the main port serves. */
  source: MetricsSource;
  /** From now on the primary's requests are answered with this registry. */
  share(registry: Registry): void;
}

export function workerMetrics(): WorkerMetrics {
  let next = 0;
  const waiting = new Map<number, { resolve(text: string): void; reject(err: Error): void }>();
  let shared: Registry | undefined;
  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    if (message.type === COLLECT) {
      void (shared?.getMetricsAsJSON() ?? Promise.resolve([])).then((metrics) =>
        process.send?.({ type: COLLECTED, id: message.id, metrics }),
      );
    }
    if (message.type === EXPOSED && typeof message.id === 'number') {
      const waiter = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.text !== undefined) waiter?.resolve(message.text);
      else waiter?.reject(new Error(message.error ?? 'no metrics from the primary'));
    }
  });
  return {
    share(registry) {
      shared = registry;
    },
    source: {
      contentType: Registry.PROMETHEUS_CONTENT_TYPE,
      metrics: () =>
        new Promise<string>((resolve, reject) => {
          const id = next++;
          const timer = setTimeout(
            () => (waiting.delete(id), reject(new Error('the primary did not answer for metrics'))),
            COLLECT_TIMEOUT_MS * 2,
          );
          waiting.set(id, {
            resolve: (text) => (clearTimeout(timer), resolve(text)),
            reject: (err) => (clearTimeout(timer), reject(err)),
          });
          process.send?.({ type: EXPOSE, id });
        }),
    },
  };
}
