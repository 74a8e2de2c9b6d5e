// The servers under test run as child processes: each gets its own event loop (the load generator must not steal
// the server's turns) and its own pid, whose memory can be sampled. They are started as `node --import tsx entry`
// (plain `node entry` for compiled JavaScript) rather than through the tsx binary so that the pid we hold is the server itself (not a tsx wrapper around it) and
// node flags such as --cpu-prof reach it directly.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface ChildServer {
  name: string;
  pid: number;
  /** The JSON line that announced readiness ({} when readiness was probed over HTTP). */
  ready: Record<string, unknown>;
  /** Log lines at level warn or above (pino levels ≥ 40) seen so far, and stderr: shown when something fails. */
  warnings: string[];
  stderr(): string;
  /** SIGTERM (a graceful shutdown, which also lets --cpu-prof write its profile), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  env: Record<string, string>;
  /**
   * How to know the child accepts connections: the `msg` of a JSON line it prints, or a URL answering 200. (Tollgate
   * logs "tollgate listening" at info, which a benchmark running at LOG_LEVEL=warn never sees: it is probed.)
   */
  ready: { msg: string } | { probe: string };
  nodeFlags?: string[];
  timeoutMs?: number;
}

const live = new Set<ChildProcess>();
const MAX_KEPT = 200;

const keep = (list: string[], line: string) => {
  if (list.length < MAX_KEPT) list.push(line);
};

function killGroup(child: ChildProcess) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL'); // the group: also whatever helper processes the child started
  } catch {
    // already gone
  }
}

export async function startChild(
  name: string,
  entry: string,
  { nodeFlags = [], ...options }: StartOptions,
): Promise<ChildServer> {
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : []; // compiled JavaScript runs on plain node
  return startProcess(name, process.execPath, [...nodeFlags, ...loader, entry], options);
}

/** Any server program (a peer such as Hydra is a Go binary), run and watched as startChild runs a node entry. */
export async function startProcess(
  name: string,
  command: string,
  args: string[],
  { env, ready: until, timeoutMs = 60_000 }: Omit<StartOptions, 'nodeFlags'>,
): Promise<ChildServer> {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    // Only what the child needs: nothing leaks in from the shell (DATABASE_URL, NODE_OPTIONS ...).
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // its own process group, so a forced kill reaches everything it started
  });
  live.add(child);
  const exited = new Promise<void>((done) => child.once('exit', () => (live.delete(child), done())));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    if (stderr.length < 64_000) stderr += chunk;
  });
  const warnings: string[] = [];

  const ready = await new Promise<Record<string, unknown>>((done, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      killGroup(child);
      reject(new Error(`${name} ${why}\nstderr: ${stderr.slice(-4000)}\nwarnings: ${warnings.join('\n')}`));
    };
    const succeed = (entry: Record<string, unknown>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done(entry);
    };
    const timer = setTimeout(() => fail(`was not ready within ${timeoutMs} ms`), timeoutMs);
    void exited.then(
      () => (
        clearTimeout(timer),
        fail(`exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready`)
      ),
    );
    if ('probe' in until) void probe(until.probe, () => settled).then((ok) => ok && succeed({}));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: { msg?: unknown; level?: unknown } | undefined;
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        entry = undefined;
      }
      if (typeof entry?.level === 'number' && entry.level >= 40) keep(warnings, line);
      if ('msg' in until && entry?.msg === until.msg) succeed(entry as Record<string, unknown>);
    });
  });

  return {
    name,
    pid: child.pid!,
    ready,
    warnings,
    stderr: () => stderr,
    async stop(graceMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin!.end();
      child.kill('SIGTERM');
      const timer = setTimeout(() => killGroup(child), graceMs);
      await exited.finally(() => clearTimeout(timer));
    },
  };
}

/** Polls `url` every 100 ms until it answers 200 (true) or `gaveUp()` says the caller stopped waiting (false). */
async function probe(url: string, gaveUp: () => boolean): Promise<boolean> {
  while (!gaveUp()) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** SIGKILL to every child still running: the last resort on an interrupted or failed run. */
export function killAllChildren() {
  for (const child of live) killGroup(child);
}
