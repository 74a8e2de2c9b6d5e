// The load loop: a fixed number of workers, each sending its next request as soon as the previous one answered
// (a closed loop, so the server is never asked for more than it can take and latency is not inflated by a
// client-side queue). Bounded twice: by time and by a request count.
import { performance } from 'node:perf_hooks';

/** Thrown by a request to end its worker early (its refresh-token chain is broken: retrying would only fail). */
export class WorkerDone extends Error {}

export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  maxRequests: number;
  /** Aborted when the run is interrupted: workers send nothing more. */
  signal?: AbortSignal;
  /** One request by worker `worker`; resolves on success, throws on any failure. */
  request(worker: number): Promise<void>;
}

export interface LoadResult {
  ok: number;
  errors: number;
  elapsedMs: number;
  /** Latency of every request, failed ones included, in milliseconds. */
  latenciesMs: number[];
  /** The first failure's message, to say what went wrong without flooding the output. */
  firstError?: string;
}

export async function runLoad({
  concurrency,
  durationMs,
  maxRequests,
  signal,
  request,
}: LoadOptions): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let ok = 0;
  let errors = 0;
  let issued = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + durationMs;

  async function worker(index: number) {
    while (performance.now() < deadline && issued < maxRequests && !signal?.aborted) {
      issued++;
      const t0 = performance.now();
      try {
        await request(index);
        ok++;
        latenciesMs.push(performance.now() - t0);
      } catch (err) {
        errors++;
        latenciesMs.push(performance.now() - t0);
        firstError ??= err instanceof Error ? err.message : String(err);
        if (err instanceof WorkerDone) return;
      }
    }
  }

  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
  return { ok, errors, elapsedMs: performance.now() - started, latenciesMs, ...(firstError ? { firstError } : {}) };
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** The middle value (the mean of the two middle ones for an even count); NaN when there are none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
