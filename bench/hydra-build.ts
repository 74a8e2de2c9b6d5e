// The Hydra binary for `npm run bench -- --peer hydra`: built once with the machine's Go toolchain from the Go module
// proxy (`go build` of github.com/ory/hydra/v2 at HYDRA_VERSION) and kept OUTSIDE the repository, in
// $XDG_CACHE_HOME/tollgate-bench/hydra-<version>/hydra (~/.cache by default), so nothing of Hydra is ever committed
// and later runs start at once. The build takes minutes of CPU and downloads several hundred MB of modules: it runs
// at the lowest priority (nice 19), its output goes to build.log beside the binary, and the binary is renamed into
// place only once complete, so a failed or interrupted build is never mistaken for one.
//
// No Go on the PATH, or a build that fails (no module proxy, say), is not an error of the benchmark: the peer is
// skipped with a sentence saying why, and bare and Tollgate are measured as without the option.
import { spawn, spawnSync } from 'node:child_process';
import { constants, createWriteStream } from 'node:fs';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const HYDRA_MODULE = 'github.com/ory/hydra/v2';
export const HYDRA_VERSION = 'v2.3.0';

// A module's replace directives apply only where it is the main module. Hydra's go.mod replaces gobuffalo/pop with
// Ory's fork, without which its persistence package does not compile (it calls Store.SQLDB, which only the fork
// has); built as a dependency of the module below, the replace has to be restated here (the one of Hydra v2.3.0).
const GO_MOD = `module tollgate-bench/hydra

go 1.24

replace github.com/gobuffalo/pop/v6 => github.com/ory/pop/v6 v6.2.1-0.20241121111754-e5dfc0f3344b
`;

export type HydraBinary = { path: string; built: boolean } | { skipped: string };

export function hydraCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'tollgate-bench', `hydra-${HYDRA_VERSION}`);
}

const executable = (path: string) =>
  access(path, constants.X_OK).then(
    () => true,
    () => false,
  );

/** `go version`, or undefined when no `go` is on the PATH (or it does not run). */
function goVersion(env: NodeJS.ProcessEnv): string | undefined {
  const result = spawnSync('go', ['version'], { env, encoding: 'utf8', timeout: 30_000 });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Runs `nice -n 19 go ...args` in `cwd`, appending its output to `log`; resolves with its exit code. */
function go(args: string[], cwd: string, log: string, env: NodeJS.ProcessEnv): Promise<number | null> {
  return new Promise((done) => {
    const out = createWriteStream(log, { flags: 'a' });
    out.write(`$ go ${args.join(' ')}\n`);
    const child = spawn('nice', ['-n', '19', 'go', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.once('error', (err) => (out.end(`${err.message}\n`), done(null)));
    child.once('close', (code) => out.end(() => done(code)));
  });
}

const lastLines = async (file: string, n: number) =>
  (await readFile(file, 'utf8').catch(() => '')).trim().split('\n').slice(-n).join('\n');

/** The cached binary, or a fresh build of it, or why there is none. `env` is the build's (PATH finds go; XDG_CACHE_HOME). */
export async function ensureHydra(
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<HydraBinary> {
  const dir = hydraCacheDir(env);
  const binary = join(dir, 'hydra');
  if (await executable(binary)) return { path: binary, built: false };

  const version = goVersion(env);
  if (!version) {
    return {
      skipped: `no Go toolchain on the PATH (\`go version\` did not run): Hydra ${HYDRA_VERSION} cannot be built, so the peer is skipped`,
    };
  }
  const src = join(dir, 'src');
  const buildLog = join(dir, 'build.log');
  await mkdir(src, { recursive: true });
  await writeFile(join(src, 'go.mod'), GO_MOD);
  await writeFile(buildLog, `${new Date().toISOString()} building ${HYDRA_MODULE}@${HYDRA_VERSION} with ${version}\n`);
  log(`building Hydra ${HYDRA_VERSION} with ${version}, once, at nice 19 (minutes of CPU; output in ${buildLog})`);
  const partial = `${binary}.partial`;
  for (const args of [
    ['get', '-tool', `${HYDRA_MODULE}@${HYDRA_VERSION}`],
    ['build', '-ldflags', `-X ${HYDRA_MODULE}/driver/config.Version=${HYDRA_VERSION}`, '-o', partial, HYDRA_MODULE],
  ]) {
    const code = await go(args, src, buildLog, env);
    if (code !== 0) {
      return {
        skipped: `building Hydra ${HYDRA_VERSION} failed (\`go ${args[0]}\` exited ${code}), so the peer is skipped; the end of ${buildLog}:\n${await lastLines(buildLog, 8)}`,
      };
    }
  }
  await rename(partial, binary);
  return { path: binary, built: true };
}
