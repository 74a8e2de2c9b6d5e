// The measurement schedule. For each round and operation the bare provider runs, then Tollgate (then Tollgate with
// each further worker count of `--workers`), then the peer where there is one (`--peer hydra`, for the operations it is compared on), back to back, so the figures compared in a
// round saw the same machine state (thermal, page cache, other tenants). A warm-up pass first, unrecorded, so no
// server is measured with a cold JIT (or cold caches).
import { startCpuMeter, type CpuUse } from './cpu.js';
import { runLoad, type LoadResult } from './load.js';
import {
  clientCredentialsOperation,
  introspectionOperation,
  refreshOperation,
  type Operation,
  type OperationName,
} from './operations.js';
import type { ComparedOperation } from './options.js';
import type { Prepared } from './prepare.js';
import type { ServerName, Target } from './target.js';

export interface Phase {
  result: LoadResult;
  cpu: CpuUse;
}

export interface Sample extends Phase {
  operation: OperationName;
  server: ServerName;
  /** The server's worker processes (Tollgate's WORKERS; 1 for the others). */
  workers: number;
  round: number;
}

export interface Schedule {
  operations: ComparedOperation[];
  rounds: number;
  roundSeconds: number;
  warmupSeconds: number;
  concurrency: number;
  maxRequests: number;
  signal?: AbortSignal;
}

/** A server beside bare and Tollgate, measured on the operations it is compared on. */
export interface Peer {
  prepared: Prepared;
  operations: readonly ComparedOperation[];
}

/** The server's operation for each scheduled name, or undefined where the server is not measured on it. */
function operationsOf(
  p: Prepared,
  s: Schedule,
  only: readonly ComparedOperation[] = s.operations,
): (Operation | undefined)[] {
  const make: Record<ComparedOperation, () => Operation> = {
    refresh: () => refreshOperation(p.target, p.http, p.chains),
    client_credentials: () => clientCredentialsOperation(p.target, p.http, s.concurrency),
    introspection: () => introspectionOperation(p.target, p.introspectionHttp, p.introspectedToken, s.concurrency),
  };
  return s.operations.map((name) => (only.includes(name) ? make[name]() : undefined));
}

export interface PhaseBounds {
  seconds: number;
  maxRequests: number;
  signal?: AbortSignal | undefined;
}

/**
 * Runs one operation within its bounds, metering the CPU of the server's processes (and the instructions of its one
 * process; not counted for a cluster, whose primary only hands connections to the workers).
 */
export async function measure(
  operation: Operation,
  { seconds, maxRequests, signal }: PhaseBounds,
  server: Pick<Target, 'pid' | 'serverPids' | 'workers'>,
): Promise<Phase> {
  signal?.throwIfAborted();
  const stopMeter = await startCpuMeter(() => server.serverPids(), server.workers === 1 ? server.pid : undefined);
  const result = await runLoad({
    concurrency: operation.concurrency,
    durationMs: seconds * 1000,
    maxRequests,
    request: (w) => operation.request(w),
    ...(signal ? { signal } : {}),
  });
  signal?.throwIfAborted(); // an interrupted phase is no measurement
  return { result, cpu: await stopMeter() };
}

/** `tollgates`: one per worker count, in the order of `--workers`. */
export async function runRounds(
  bare: Prepared,
  tollgates: Prepared[],
  s: Schedule,
  log: (line: string) => void,
  peer?: Peer,
): Promise<Sample[]> {
  const servers = [bare, ...tollgates, ...(peer ? [peer.prepared] : [])];
  const operations = new Map(
    servers.map((p) => [p, operationsOf(p, s, p === peer?.prepared ? peer.operations : undefined)]),
  );
  const count = s.operations.length;

  if (s.warmupSeconds > 0) {
    log(`warm-up: ${s.warmupSeconds} s per operation and server`);
    for (let i = 0; i < count; i++) {
      for (const p of servers) {
        const operation = operations.get(p)![i];
        if (!operation) continue;
        const { errors, firstError } = (
          await measure(operation, { seconds: s.warmupSeconds, maxRequests: s.maxRequests, signal: s.signal }, p.target)
        ).result;
        // Not recorded, but not hidden either: a failure here (a chain broken) would change what the rounds measure.
        if (errors) log(`warm-up ${operation.name} ${p.target.label}: ${errors} errors (${firstError})`);
      }
    }
  }

  const samples: Sample[] = [];
  for (let round = 1; round <= s.rounds; round++) {
    for (let i = 0; i < count; i++) {
      for (const p of servers) {
        const operation = operations.get(p)![i];
        if (!operation) continue;
        const { result, cpu } = await measure(
          operation,
          { seconds: s.roundSeconds, maxRequests: s.maxRequests, signal: s.signal },
          p.target,
        );
        samples.push({
          operation: operation.name,
          server: p.target.name,
          workers: p.target.workers,
          round,
          result,
          cpu,
        });
        const rate = (result.ok / result.elapsedMs) * 1000;
        const others = Math.max(0, cpu.machineMs - cpu.serverMs - cpu.generatorMs) / result.elapsedMs;
        log(
          `round ${round} ${operation.name.padEnd(18)} ${p.target.label.padEnd(11)} ${rate.toFixed(0).padStart(6)} req/s` +
            `  server CPU ${(cpu.serverMs / Math.max(1, result.ok)).toFixed(2)} ms/req` +
            (cpu.processMs !== undefined && cpu.processMs !== cpu.serverMs
              ? ` (its process ${(cpu.processMs / Math.max(1, result.ok)).toFixed(2)})`
              : '') +
            (cpu.serverInstructions
              ? `  ${(cpu.serverInstructions / Math.max(1, result.ok) / 1e6).toFixed(2)} M instructions/req`
              : '') +
            `  other load ${others.toFixed(2)} cores` +
            `  errors ${result.errors}${result.firstError ? ` (${result.firstError})` : ''}`,
        );
      }
    }
  }
  return samples;
}
