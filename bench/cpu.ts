// CPU time, from /proc, per measured phase: what the server spent (the Tollgate process plus the PostgreSQL
// backends serving its database; the bare provider process), what this load generator spent, and what the whole
// machine spent. Throughput on a shared two-core machine moves with whatever else runs; CPU time per request moves
// much less, and "machine minus ours" says how much else was running.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

// USER_HZ: the unit of /proc/<pid>/stat and /proc/stat times (100 on every common Linux build).
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();
const toMs = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;

/** utime + stime of a process (all its threads), in ms; undefined once it is gone. */
async function processCpuMs(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm) ": state is field 3, utime 14, stime 15 (proc(5)); comm may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return toMs(Number(fields[11]) + Number(fields[12]));
  } catch {
    return undefined;
  }
}

/** Busy time of all CPUs together (everything but idle and iowait), in ms. */
async function machineBusyMs(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!; // "cpu  user nice system idle iowait irq ..."
  const [, ...values] = line.trim().split(/\s+/).map(Number);
  const total = values.slice(0, 8).reduce((a, b) => a + b, 0);
  return toMs(total - values[3]! - values[4]!);
}

export interface CpuUse {
  /** The server under test: its process and, for the durable ones (Tollgate, Hydra), the PostgreSQL backends of its database. */
  serverMs: number;
  /**
   * User-space instructions the server's own process retired (perf), when perf can count them here: unlike time,
   * this does not move with what else the machine runs, so it compares code changes run to run.
   */
  serverInstructions?: number | undefined;
  /** The server's own process alone (without database backends). */
  processMs?: number | undefined;
  generatorMs: number;
  /** Every process on the machine, ours included. */
  machineMs: number;
}

/** Starts measuring; `pids` is asked at start and at stop (database backends come and go with the pool). */
export async function startCpuMeter(pids: () => Promise<number[]>, mainPid?: number) {
  const snapshot = async () => {
    const list = await pids();
    const perPid = new Map<number, number>();
    for (const pid of list) {
      const ms = await processCpuMs(pid);
      if (ms !== undefined) perPid.set(pid, ms);
    }
    return { perPid, machine: await machineBusyMs(), generator: process.cpuUsage() };
  };
  const counter = countInstructions(mainPid);
  const start = await snapshot();
  return async function stop(): Promise<CpuUse> {
    const end = await snapshot();
    const serverInstructions = await counter?.stop();
    let serverMs = 0;
    const processMs =
      mainPid === undefined ? undefined : (end.perPid.get(mainPid) ?? 0) - (start.perPid.get(mainPid) ?? 0);
    // A backend born during the phase counts from zero; one that ended during it is lost (rare while busy).
    for (const [pid, ms] of end.perPid) serverMs += ms - (start.perPid.get(pid) ?? 0);
    const generator = process.cpuUsage(start.generator);
    return {
      serverMs,
      processMs,
      serverInstructions,
      generatorMs: (generator.user + generator.system) / 1000,
      machineMs: end.machine - start.machine,
    };
  };
}

let perfWorks: boolean | undefined;
function perfAvailable(): boolean {
  if (perfWorks === undefined) {
    const run = spawnSync('perf', ['stat', '-x,', '-e', 'instructions:u', 'true'], { encoding: 'utf8' });
    perfWorks = run.status === 0 && /^\d+,/m.test(run.stderr ?? '');
  }
  return perfWorks;
}

/** `perf stat` attached to one process until stopped; undefined where perf is missing or cannot count. */
function countInstructions(pid: number | undefined) {
  if (pid === undefined || !perfAvailable()) return undefined;
  const perf = spawn('perf', ['stat', '-x,', '-e', 'instructions:u', '-p', String(pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  perf.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => perf.once('close', () => resolve()));
  return {
    async stop(): Promise<number | undefined> {
      perf.kill('SIGINT');
      await exited;
      const line = stderr.split('\n').find((l) => l.includes('instructions'));
      const value = Number(line?.split(',')[0]);
      return Number.isFinite(value) && value > 0 ? value : undefined;
    },
  };
}
