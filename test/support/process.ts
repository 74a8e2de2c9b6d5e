// Child processes for tests of the operator's surface: the CLI (`npm run cli`) and the server (`npm start`), run
// exactly as an operator runs them, through tsx, from the repository root. Each child gets a minimal environment
// (PATH, HOME) plus what the test passes: nothing leaks in from the test runner (DATABASE_URL, NODE_OPTIONS, ...).
// Every child is started in its own process group and tracked, so `stopAllProcesses()` in an afterAll can end
// whatever a failing test left running.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = join(REPO_ROOT, 'node_modules/.bin/tsx');

export type Env = Record<string, string>;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunResult extends Exit {
  stdout: string;
  stderr: string;
  /** stdout parsed as one JSON document (undefined when it is not exactly one). */
  json: unknown;
}

export interface RunOptions {
  env?: Env;
  stdin?: string;
  /** The child is killed (and the promise rejected) when it runs longer than this. */
  timeoutMs?: number;
}

const minimalEnv = (): Env => ({
  PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
  HOME: process.env.HOME ?? '/tmp',
});

const live = new Set<ChildProcess>();

function spawnTsx(entry: string, args: string[], env: Env): { child: ChildProcess; exited: Promise<Exit> } {
  return spawnCommand(TSX, [entry, ...args], env);
}

function spawnCommand(command: string, args: string[], env: Env): { child: ChildProcess; exited: Promise<Exit> } {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...minimalEnv(), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // its own process group: tsx runs node as a grandchild, and a forced kill must reach both
  });
  live.add(child);
  const exited = new Promise<Exit>((done) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      done({ code, signal });
    });
    child.once('error', () => {
      live.delete(child);
      done({ code: null, signal: null });
    });
  });
  return { child, exited };
}

/** SIGKILL to the child's process group (the tsx process and the node process it runs). */
function killGroup(child: ChildProcess) {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Runs `tsx <entry> ...args` to completion and collects its output. */
export async function runEntry(
  entry: string,
  args: string[],
  { env = {}, stdin, timeoutMs = 60_000 }: RunOptions = {},
): Promise<RunResult> {
  const { child, exited } = spawnTsx(entry, args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin!.on('error', () => {}); // the child may exit without reading stdin
  child.stdin!.end(stdin ?? '');

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child);
  }, timeoutMs);
  const exit = await exited.finally(() => clearTimeout(timer));
  // 'exit' can fire before the pipes are drained; wait for them to close.
  await Promise.all(
    [child.stdout, child.stderr].map((s) => (s!.closed ? undefined : new Promise((r) => s!.once('close', r)))),
  );
  if (timedOut)
    throw new Error(
      `tsx ${entry} ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`,
    );
  return { ...exit, stdout, stderr, json: parseJson(stdout) };
}

/** `npm run --silent cli -- ...args`, i.e. `tsx src/cli/main.ts ...args`. */
export const runCli = (args: string[], options: RunOptions = {}) => runEntry('src/cli/main.ts', args, options);

/** A port that was free a moment ago (listen on 0, close). */
export function freePort(): Promise<number> {
  return new Promise((done, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => done(port));
    });
  });
}

export interface ServerProcess {
  url: string;
  port: number;
  pid: number;
  /** stdout lines (the JSON log) so far. */
  logs: string[];
  stderr(): string;
  /** Resolves when the process exits, however that happens. */
  exited: Promise<Exit>;
  /** SIGTERM (or `signal`), then waits for exit (SIGKILL to the process group after `graceMs`). */
  stop(graceMs?: number, signal?: NodeJS.Signals): Promise<Exit>;
}

/**
 * `npm start`, i.e. `tsx src/main.ts`, on a free port passed as PORT (the issuer defaults to
 * http://localhost:$PORT, so PORT=0 would give a wrong issuer). Resolves once the "tollgate listening" log line
 * appears; rejects (after killing the child) with its stderr when it exits first or takes longer than `timeoutMs`.
 */
export async function startServerProcess(
  env: Env = {},
  { timeoutMs = 30_000, npmScript }: { timeoutMs?: number; npmScript?: string } = {},
): Promise<ServerProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  // npmScript: `npm run <script>` itself is the process started (and signalled), as an operator or a process
  // manager would run it; npm relays the signal to the script.
  const { child, exited } = npmScript
    ? spawnCommand('npm', ['run', '--silent', npmScript], { ...env, PORT: String(port) })
    : spawnTsx('src/main.ts', [], { ...env, PORT: String(port) });
  child.stdin!.end();
  const logs: string[] = [];
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

  const stop = async (graceMs = 15_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      // Like a process manager: the signal goes to the process we started (npm or tsx relays it to node).
      child.kill(signal);
      const timer = setTimeout(() => killGroup(child), graceMs);
      await exited.finally(() => clearTimeout(timer));
    }
    return exited;
  };

  const url = await new Promise<string>((done, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      killGroup(child);
      reject(new Error(`server process ${why}\nstderr: ${stderr}\nstdout: ${logs.join('\n')}`));
    };
    const timer = setTimeout(() => fail(`did not log "tollgate listening" within ${timeoutMs} ms`), timeoutMs);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      fail(`exited (code ${code}, signal ${signal}) before listening`);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      logs.push(line);
      const entry = parseJson(line) as { msg?: string; url?: string } | undefined;
      if (!settled && entry?.msg === 'tollgate listening' && entry.url) {
        settled = true;
        clearTimeout(timer);
        done(entry.url);
      }
    });
  });

  return { url, port, pid: child.pid!, logs, stderr: () => stderr, exited, stop };
}

/** Kills (SIGKILL, whole process group) every child this module started that is still running. For afterAll. */
export async function stopAllProcesses(): Promise<void> {
  const running = [...live];
  await Promise.all(
    running.map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          killGroup(child);
        }),
    ),
  );
}
