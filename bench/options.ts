// Command-line flags of `npm run bench -- [flags]`. Every loop the benchmark runs is bounded by these, in time and
// in count, so a run takes a few minutes at most whatever the servers do.
import { parseArgs } from 'node:util';

import type { OperationName } from './operations.js';

export const COMPARED_OPERATIONS = [
  'refresh',
  'client_credentials',
  'introspection',
] as const satisfies readonly OperationName[];
export type ComparedOperation = (typeof COMPARED_OPERATIONS)[number];

/** Servers that can be measured beside bare and Tollgate (`--peer`). */
export const PEERS = ['hydra'] as const;
export type PeerName = (typeof PEERS)[number];

export interface BenchOptions {
  /** The operations compared in rounds (all by default; one alone makes a profile of just that operation). */
  operations: ComparedOperation[];
  /** Refresh-token chains per server, and so refresh workers. */
  chains: number;
  /** Measured rounds per server and operation (bare, Tollgate, bare, Tollgate ...). */
  rounds: number;
  roundSeconds: number;
  /** Unrecorded run of each operation on each server before round 1, so both are measured with a warm JIT. */
  warmupSeconds: number;
  /** Workers for client_credentials and introspection. */
  concurrency: number;
  /** Concurrent browsers for the code-flow measurement (and for preparing chains). */
  browsers: number;
  flowSeconds: number;
  /** Upper bound on requests in any one measured phase. */
  maxRequests: number;
  /** Run Tollgate under `node --cpu-prof` and summarise the profile at the end. */
  profile: boolean;
  /**
   * Tollgate's entry point. By default the compiled build, built first: what `npm run start:prod`, the production
   * entry, runs. `src/main.ts` measures `npm start` (tsx).
   */
  tollgateEntry: string;
  /** Build (`npm run build`) before starting: the default entry is the build's. */
  build: boolean;
  /** Extra node flags for Tollgate's process (e.g. a heap size, as a container's memory limit would set). */
  tollgateNodeFlags: string[];
  /** Settings for Tollgate beyond the benchmark's own (e.g. DB_POOL_SIZE=4), to compare configurations. */
  tollgateEnv: Record<string, string>;
  /** A durable peer measured in the same rounds (Ory Hydra, built with Go when there is Go), or none. */
  peer: PeerName | undefined;
  /** Settings for the peer beyond its defaults (e.g. OAUTH2_HASHERS_PBKDF2_ITERATIONS=1), to see what one costs. */
  peerEnv: Record<string, string>;
  /**
   * Tollgate's WORKERS, one Tollgate per value, all measured in the same alternating rounds. The first is the one
   * compared with bare (and the peer); the others are reported against it (throughput by worker count).
   */
  workers: number[];
}

const USAGE = `usage: npm run bench -- [--chains 32] [--rounds 3] [--seconds 5] [--warmup 5] [--concurrency 32]
                       [--browsers 4] [--flow-seconds 5] [--max-requests 200000] [--profile]
                       [--operations ${COMPARED_OPERATIONS.join(',')}] [--tollgate-entry dist/src/main.js]
                       [--tollgate-node-flags="--max-old-space-size=96"] [--tollgate-env "DB_POOL_SIZE=4 ..."]
                       [--peer ${PEERS.join('|')}] [--peer-env "NAME=value ..."] [--workers 1,2]`;

function int(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new Error(`--${flag} must be an integer in ${min}..${max}\n${USAGE}`);
  return value;
}

const DEFAULT_ENTRY = 'dist/src/main.js';

function parseWorkers(raw: string | undefined): number[] {
  const list = (raw ?? '1').split(',').map((w) => w.trim());
  const counts = list.map(Number);
  if (
    list.some((w) => !/^\d+$/.test(w)) ||
    counts.some((n) => n < 1 || n > 16) ||
    new Set(counts).size !== counts.length
  ) {
    throw new Error(`--workers takes a list of distinct integers in 1..16 (e.g. 1,2)\n${USAGE}`);
  }
  return counts;
}

function parseEnv(flag: string, raw: string): Record<string, string> {
  const pairs = raw
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair));
  if (pairs.some((m) => !m)) throw new Error(`--${flag} takes NAME=value pairs separated by spaces\n${USAGE}`);
  return Object.fromEntries(pairs.map((m) => [m![1]!, m![2]!]));
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      chains: { type: 'string' },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      concurrency: { type: 'string' },
      browsers: { type: 'string' },
      'flow-seconds': { type: 'string' },
      'max-requests': { type: 'string' },
      profile: { type: 'boolean' },
      operations: { type: 'string' },
      'tollgate-entry': { type: 'string' },
      'tollgate-node-flags': { type: 'string' },
      'tollgate-env': { type: 'string' },
      peer: { type: 'string' },
      'peer-env': { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const operations = (values.operations ?? COMPARED_OPERATIONS.join(','))
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  const unknown = operations.filter((o) => !(COMPARED_OPERATIONS as readonly string[]).includes(o));
  if (unknown.length || operations.length === 0)
    throw new Error(`--operations takes a list of ${COMPARED_OPERATIONS.join(', ')}\n${USAGE}`);
  const peer = values.peer;
  if (peer !== undefined && !(PEERS as readonly string[]).includes(peer))
    throw new Error(`--peer takes one of ${PEERS.join(', ')}, not ${JSON.stringify(peer)}\n${USAGE}`);
  if (values['peer-env'] !== undefined && peer === undefined) throw new Error(`--peer-env needs --peer\n${USAGE}`);
  const tollgateEnv = parseEnv('tollgate-env', values['tollgate-env'] ?? '');
  if ('WORKERS' in tollgateEnv) throw new Error(`--tollgate-env does not take WORKERS: use --workers\n${USAGE}`);
  return {
    operations: [...new Set(operations)] as ComparedOperation[],
    chains: int('chains', values.chains, 32, 1, 256),
    rounds: int('rounds', values.rounds, 3, 1, 10),
    roundSeconds: int('seconds', values.seconds, 5, 1, 60),
    warmupSeconds: int('warmup', values.warmup, 5, 0, 30),
    concurrency: int('concurrency', values.concurrency, 32, 1, 256),
    browsers: int('browsers', values.browsers, 4, 1, 32),
    flowSeconds: int('flow-seconds', values['flow-seconds'], 5, 0, 60),
    maxRequests: int('max-requests', values['max-requests'], 200_000, 1, 10_000_000),
    profile: values.profile ?? false,
    tollgateEntry: values['tollgate-entry'] ?? DEFAULT_ENTRY,
    build: values['tollgate-entry'] === undefined,
    tollgateNodeFlags: (values['tollgate-node-flags'] ?? '').split(/\s+/).filter(Boolean),
    tollgateEnv,
    peer: peer as PeerName | undefined,
    peerEnv: parseEnv('peer-env', values['peer-env'] ?? ''),
    workers: parseWorkers(values.workers),
  };
}
