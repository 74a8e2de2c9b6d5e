// `npm run bench`: Tollgate (real PostgreSQL and Redis) against bare node-oidc-provider (in-memory), as BENCHMARKS.md
// describes. Both servers run as child processes on 127.0.0.1; this process only generates load, samples memory
// and reports. Progress goes to stderr, the report to stdout. Missed goals are reported, not failed: benchmarks
// are not gates. The exit code is non-zero only when the benchmark itself could not run.
import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import { startBare } from './bare.js';
import { killAllChildren, REPO_ROOT } from './children.js';
import type { HttpClient } from './http-client.js';
import { ensureHydra } from './hydra-build.js';
import { HYDRA_NAME, HYDRA_OPERATIONS, startHydra } from './hydra.js';
import { describeMachine } from './machine.js';
import { codeFlowOperation } from './operations.js';
import { parseOptions } from './options.js';
import { renderPeerReport, type PeerOutcome } from './peer-report.js';
import { prepare, type Prepared } from './prepare.js';
import { summarizeProfile } from './profile-summary.js';
import { comparedSamples, renderHeader, renderReport } from './report.js';
import { measure, runRounds, type Peer, type Phase } from './rounds.js';
import { sampleRss } from './rss.js';
import type { Target } from './target.js';
import { startTollgate } from './tollgate.js';

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    log(err instanceof Error ? err.message : String(err));
    process.exitCode = 2;
    return;
  }
  const targets: Target[] = [];
  const clients: HttpClient[] = [];
  const interrupted = new AbortController();
  let cleaned: Promise<void> | undefined;
  // Servers, database and Redis keys go away however the run ends: normally, on an error, or on Ctrl-C.
  const cleanup = () =>
    (cleaned ??= (async () => {
      for (const c of clients) c.close();
      await Promise.allSettled(targets.map((t) => t.stop()));
      killAllChildren();
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the load, the servers, and removing the benchmark database`);
    interrupted.abort(new Error(`interrupted by ${signal}`));
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);

  try {
    const machine = await describeMachine();
    log(machine.replace(/\n/g, '; '));
    const profileDir = options.profile
      ? join(REPO_ROOT, 'bench', 'profiles', new Date().toISOString().replace(/[:.]/g, '-'))
      : undefined;

    if (options.build) {
      log(`building Tollgate (npm run build) to run ${options.tollgateEntry}, the production entry`);
      // Its output goes to stderr with the progress: stdout carries the report only.
      const built = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 2, 2] });
      if (built.status !== 0) throw new Error(`npm run build failed (exit ${built.status ?? built.signal})`);
    }
    // The peer's binary first: building it takes minutes, and no server should sit idle (or hold a database) meanwhile.
    const hydraBinary = options.peer === 'hydra' ? await ensureHydra(log) : undefined;
    if (hydraBinary && 'skipped' in hydraBinary) log(`--peer hydra: ${hydraBinary.skipped}`);
    if (hydraBinary && 'path' in hydraBinary)
      log(`Hydra binary ${hydraBinary.path} (${hydraBinary.built ? 'built now' : 'cached'})`);
    const bare = await startBare();
    targets.push(bare);
    // One Tollgate per worker count (`--workers`), each on its own database; the first is compared with bare and the
    // peer (and alone profiled and sampled for memory), the others are measured in the same rounds beside it.
    const tollgates: Target[] = [];
    for (const [i, workers] of options.workers.entries()) {
      const started = await startTollgate({
        entry: options.tollgateEntry,
        env: options.tollgateEnv,
        workers,
        nodeFlags: [
          ...options.tollgateNodeFlags,
          ...(profileDir && i === 0 ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
        ],
      });
      targets.push(started);
      tollgates.push(started);
    }
    const tollgate = tollgates[0]!;
    log(
      `bare provider at ${bare.url} (pid ${bare.pid}), ${tollgates.map((t) => `${t.label} at ${t.url} (pid ${t.pid})`).join(', ')}`,
    );
    const hydra =
      hydraBinary && 'path' in hydraBinary ? await startHydra(hydraBinary.path, options.peerEnv) : undefined;
    if (hydra) {
      targets.push(hydra);
      log(`${HYDRA_NAME} at ${hydra.url} (pid ${hydra.pid}), on its own database`);
    }
    const rss = { bare: sampleRss(bare.pid), tollgate: sampleRss(tollgate.pid) };
    const hydraRss = hydra && sampleRss(hydra.pid);

    log(`preparing ${options.chains} refresh-token chains on each server through real code + PKCE flows`);
    const preparedBare = await prepare(bare, options);
    clients.push(preparedBare.http);
    const preparedTollgates: Prepared[] = [];
    for (const t of tollgates) {
      const prepared = await prepare(t, options);
      clients.push(prepared.http);
      preparedTollgates.push(prepared);
    }
    const preparedTollgate = preparedTollgates[0]!;
    let peer: Peer | undefined;
    if (hydra) {
      const prepared = await prepare(hydra, options);
      clients.push(prepared.http, prepared.introspectionHttp);
      peer = { prepared, operations: HYDRA_OPERATIONS };
    }

    const samples = await runRounds(
      preparedBare,
      preparedTollgates,
      { ...options, signal: interrupted.signal },
      log,
      peer,
    );
    let flows: Phase | undefined;
    if (options.flowSeconds > 0) {
      const bounds = { seconds: options.flowSeconds, maxRequests: options.maxRequests, signal: interrupted.signal };
      flows = await measure(codeFlowOperation(tollgate, preparedTollgate.http, options.browsers), bounds, tollgate);
      const { ok, elapsedMs, errors, firstError } = flows.result;
      log(
        `code flows on Tollgate: ${ok} in ${(elapsedMs / 1000).toFixed(1)} s, errors ${errors}${firstError ? ` (${firstError})` : ''}`,
      );
    }
    const memory = { bare: await rss.bare.stop(), tollgate: await rss.tollgate.stop() };
    let peerOutcome: PeerOutcome | undefined;
    if (hydraBinary && 'skipped' in hydraBinary) peerOutcome = { title: HYDRA_NAME, skipped: hydraBinary.skipped };
    if (peer && hydraRss) {
      peerOutcome = {
        title: HYDRA_NAME,
        server: 'hydra',
        label: 'Hydra',
        samples: comparedSamples(samples, options.workers[0]),
        algorithms: {
          bare: preparedBare.algorithms,
          tollgate: preparedTollgate.algorithms,
          hydra: peer.prepared.algorithms,
        },
        rss: await hydraRss.stop(),
      };
    }
    const warnings = tollgates.flatMap((t) => t.warnings());
    await cleanup(); // before the report: a profiled Tollgate writes its profile as it exits

    console.log(
      `${renderHeader(machine, options)}\n\n${renderReport({ samples, flows, browsers: options.browsers, rss: memory, workers: options.workers }, options.rounds)}`,
    );
    if (peerOutcome) console.log(`\n${renderPeerReport(peerOutcome, options.rounds)}`);
    if (warnings.length)
      console.log(
        `\nTollgate logged ${warnings.length} warnings or errors; the first:\n${warnings.slice(0, 5).join('\n')}`,
      );
    if (profileDir) {
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread, where requests are served
      // (the others are helper threads, such as tsx's module loader).
      for (const file of (await readdir(profileDir)).filter((f) => /\.0\.\d+\.cpuprofile$/.test(f))) {
        console.log(
          `\nCPU profile of Tollgate: ${join(profileDir, file)}\n\n\`\`\`\n${await summarizeProfile(join(profileDir, file))}\n\`\`\``,
        );
      }
    }
  } catch (err) {
    if (!interrupted.signal.aborted) log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

await main();
// Keep-alive sockets of fetch's global pool would hold the process open for seconds after the servers are gone.
process.exit(process.exitCode ?? 0);
