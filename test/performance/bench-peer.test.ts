// `npm run bench -- --peer hydra`: the option, the Hydra binary's cache and the ways it is skipped, the peer's section
// of the report, and (where the machine has the binary cached, as after one `--peer hydra` run) a real run against
// Hydra. Building Hydra takes minutes of CPU and hundreds of MB of modules, so no test builds it: the build's
// failure is shown with a stand-in `go` that fails as one without a module proxy does.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { ensureHydra, hydraCacheDir } from '../../bench/hydra-build.js';
import type { LoadResult } from '../../bench/load.js';
import { parseOptions } from '../../bench/options.js';
import { comparePeer, renderPeerReport, type PeerFacts } from '../../bench/peer-report.js';
import type { Sample } from '../../bench/rounds.js';
import type { ServerName } from '../../bench/target.js';
import { runEntry } from '../support/process.js';
import { pathWithoutGo } from '../support/without-go.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tg-bench-peer-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('--peer', () => {
  it('takes hydra, with settings for it; nothing by default', () => {
    expect(parseOptions([]).peer).toBeUndefined();
    const options = parseOptions(['--peer', 'hydra', '--peer-env', 'OAUTH2_HASHERS_PBKDF2_ITERATIONS=1']);
    expect(options.peer).toBe('hydra');
    expect(options.peerEnv).toEqual({ OAUTH2_HASHERS_PBKDF2_ITERATIONS: '1' });
  });

  it('rejects a peer it does not know, settings without a peer, and a missing value', () => {
    expect(() => parseOptions(['--peer', 'keycloak'])).toThrow(/^--peer takes one of hydra, not "keycloak"/);
    expect(() => parseOptions(['--peer-env', 'A=1'])).toThrow(/^--peer-env needs --peer/);
    expect(() => parseOptions(['--peer', 'hydra', '--peer-env', 'lowercase'])).toThrow(
      /^--peer-env takes NAME=value pairs/,
    );
    expect(() => parseOptions(['--peer'])).toThrow(/argument missing/);
  });

  it('makes `npm run bench` exit 2 with the usage on an unknown peer, before starting anything', async () => {
    const result = await runEntry('bench/run.ts', ['--peer', 'keycloak'], { timeoutMs: 60_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--peer takes one of hydra, not "keycloak"');
    expect(result.stderr).toContain('usage: npm run bench');
    expect(result.stdout).toBe('');
  });
});

describe('the Hydra binary', () => {
  it('is kept outside the repository, under XDG_CACHE_HOME (~/.cache by default), by version', () => {
    expect(hydraCacheDir({ XDG_CACHE_HOME: '/var/cache/x' })).toBe('/var/cache/x/tollgate-bench/hydra-v2.3.0');
    expect(hydraCacheDir({ HOME: process.env.HOME })).toMatch(/\/\.cache\/tollgate-bench\/hydra-v2\.3\.0$/);
  });

  it('is skipped with a sentence saying why when there is no Go on the PATH', async () => {
    const cache = join(scratch, 'no-go');
    const result = await ensureHydra(() => {}, { PATH: await pathWithoutGo(scratch), XDG_CACHE_HOME: cache });
    expect(result).toEqual({
      skipped: expect.stringMatching(
        /^no Go toolchain on the PATH .* Hydra v2\.3\.0 cannot be built, so the peer is skipped$/,
      ),
    });
  });

  it('is skipped, with the end of the build log, when the build fails (a go without a module proxy)', async () => {
    const bin = join(scratch, 'failing-go-bin');
    await mkdir(bin, { recursive: true });
    // Answers `go version` as a toolchain does, and fails every build step as go does without a module proxy.
    await writeFile(
      join(bin, 'go'),
      '#!/bin/sh\nif [ "$1" = version ]; then echo "go version go0.0 stand-in"; exit 0; fi\necho "dial tcp: lookup proxy.golang.org: no such host" >&2\nexit 1\n',
    );
    await chmod(join(bin, 'go'), 0o755);
    const cache = join(scratch, 'failing');
    const logs: string[] = [];
    const result = await ensureHydra((line) => logs.push(line), {
      PATH: [bin, await pathWithoutGo(scratch)].join(delimiter),
      XDG_CACHE_HOME: cache,
    });
    expect(result).toEqual({
      skipped: expect.stringContaining('building Hydra v2.3.0 failed (`go get` exited 1), so the peer is skipped'),
    });
    expect((result as { skipped: string }).skipped).toContain('lookup proxy.golang.org: no such host');
    expect(logs.join('\n')).toContain('building Hydra v2.3.0 with go version go0.0 stand-in, once, at nice 19');
    expect(existsSync(join(hydraCacheDir({ XDG_CACHE_HOME: cache }), 'hydra'))).toBe(false); // nothing half-built is kept as the binary
  });

  it('is reused from the cache when present, Go or no Go', async () => {
    const cache = join(scratch, 'cached');
    const dir = hydraCacheDir({ XDG_CACHE_HOME: cache });
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'hydra'), '#!/bin/sh\n');
    await chmod(join(dir, 'hydra'), 0o755);
    expect(await ensureHydra(() => {}, { PATH: await pathWithoutGo(scratch), XDG_CACHE_HOME: cache })).toEqual({
      path: join(dir, 'hydra'),
      built: false,
    });
  });
});

const phase = (ok: number, elapsedMs: number, cpuMs: number, errors = 0): Pick<Sample, 'result' | 'cpu'> => ({
  result: { ok, errors, elapsedMs, latenciesMs: Array.from({ length: ok }, () => elapsedMs / ok) } satisfies LoadResult,
  cpu: { serverMs: cpuMs, machineMs: cpuMs, generatorMs: 0 },
});

describe("the peer's section of the report", () => {
  // Three rounds; refresh per round: bare 1000/900/1100, Tollgate 500/700/600, Hydra 400/500/300 req/s (1 s phases).
  const rates: Record<ServerName, number[]> = {
    bare: [1000, 900, 1100],
    tollgate: [500, 700, 600],
    hydra: [400, 500, 300],
  };
  const samples: Sample[] = [1, 2, 3].flatMap((round) =>
    (['bare', 'tollgate', 'hydra'] as const).map((server) => ({
      operation: 'refresh' as const,
      server,
      workers: 1,
      round,
      ...phase(rates[server][round - 1]!, 1000, server === 'hydra' ? 4000 : 1000),
    })),
  );
  const facts: PeerFacts = {
    title: 'Ory Hydra v2.3.0',
    server: 'hydra',
    label: 'Hydra',
    samples,
    algorithms: {
      tollgate: { idToken: 'ES256', accessToken: 'opaque' },
      hydra: { idToken: 'RS256', accessToken: 'opaque, HMAC-SHA-512/256 under the system secret' },
    },
    rss: { peakSampledKiB: 50 * 1024, highWaterKiB: 60 * 1024, samples: 10 },
  };

  it('takes Tollgate/Hydra as the median of the per-round ratios, beside Tollgate/bare', () => {
    const [refresh, ...others] = comparePeer(samples, 'hydra');
    expect(others).toEqual([]);
    // Per round Tollgate/Hydra: 1.25, 1.4, 2.0 → median 1.4 (the ratio of the medians would be 600/400 = 1.5);
    // Tollgate/bare: 0.5, 0.777…, 0.5454… → 0.5454… (ratio of the medians: 0.6).
    expect(refresh!.ratio).toBeCloseTo(1.4, 10);
    expect(refresh!.bareRatio).toBeCloseTo(600 / 1100, 10);
    expect(refresh!.peer.rate).toBeCloseTo(400, 6);
    // CPU per request, median of rounds: Hydra 4000/400 = 10 ms, Tollgate 1000/600 ms.
    expect(refresh!.cpuRatio).toBeCloseTo(10 / (1000 / 600), 6);
  });

  it('shows the figures, the rounds, the signing algorithms, the memory and the goal', () => {
    const out = renderPeerReport(facts, 3);
    expect(out).toMatch(/^### Durable peer: Ory Hydra v2\.3\.0$/m);
    expect(out).toMatch(
      /^\| operation \| Hydra req\/s \(median of 3\) \|.*\| Tollgate\/Hydra req\/s \| Hydra\/Tollgate CPU \| Tollgate\/bare req\/s \|$/m,
    );
    expect(out).toMatch(/^\| refresh \| 400 \| 2\.5 \| 3\.3 \| 0 \| 10\.00 \| 1\.40 \| 6\.00 \| 0\.55 \|$/m);
    expect(out).toMatch(/^\| 2 \| refresh \| 500 \| 700 \| 1\.40 \| 0\.00 cores \|$/m);
    expect(out).toMatch(/^\| hydra \| RS256 \| opaque, HMAC-SHA-512\/256 under the system secret \|$/m);
    expect(out).toMatch(/^\| tollgate \| ES256 \| opaque \|$/m);
    expect(out).toMatch(/^Peak RSS, Hydra: 60 MiB/m);
    expect(out).toMatch(/^- met: refresh throughput Tollgate\/Hydra ≥ 1\.0: 1\.40$/m);
    expect(out).toMatch(/^Errors on Hydra: 0 /m);
  });

  it('says MISSED when Tollgate is slower than Hydra on refresh', () => {
    const slower = samples.map((s) => (s.server === 'tollgate' ? { ...s, ...phase(100, 1000, 1000) } : s));
    expect(renderPeerReport({ ...facts, samples: slower }, 3)).toMatch(
      /^- MISSED: refresh throughput Tollgate\/Hydra ≥ 1\.0: 0\.25$/m,
    );
  });

  it('says why when the peer was skipped', () => {
    expect(renderPeerReport({ title: 'Ory Hydra v2.3.0', skipped: 'no Go toolchain on the PATH' }, 3)).toBe(
      '### Durable peer: Ory Hydra v2.3.0\n\nSkipped: no Go toolchain on the PATH',
    );
  });
});

// A real run against Hydra needs its binary, which only a `--peer hydra` run with Go builds (minutes): where it is
// cached this runs (well under a minute); on a fresh machine it is skipped, and says so.
const cachedHydra = join(hydraCacheDir(), 'hydra');
const withHydra = existsSync(cachedHydra) ? it : it.skip;
if (!existsSync(cachedHydra))
  console.warn(
    `bench-peer: no Hydra binary at ${cachedHydra}: the run against Hydra is skipped (\`npm run bench -- --peer hydra\` builds it)`,
  );

describe('npm run bench -- --peer hydra, with the cached binary', () => {
  withHydra(
    'measures Hydra on its own database beside bare and Tollgate, through its login and consent admin API',
    async () => {
      const passThrough = Object.fromEntries(
        ['TEST_PG_ADMIN_URL', 'TEST_REDIS_URL'].flatMap((name) =>
          process.env[name] ? [[name, process.env[name]!]] : [],
        ),
      );
      const result = await runEntry(
        'bench/run.ts',
        [
          '--peer',
          'hydra',
          '--operations',
          'refresh,introspection',
          '--chains',
          '2',
          '--rounds',
          '1',
          '--seconds',
          '1',
          '--warmup',
          '0',
          '--concurrency',
          '2',
          '--browsers',
          '1',
          '--flow-seconds',
          '0',
          '--tollgate-entry',
          'src/main.ts',
        ],
        { env: passThrough, timeoutMs: 110_000 },
      );
      expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr.slice(-3000) }).toEqual({
        code: 0,
        stderr: '',
      });
      expect(result.stderr).toMatch(/Hydra binary \S+\/tollgate-bench\/hydra-v2\.3\.0\/hydra \(cached\)/);
      expect(result.stderr).toMatch(/Ory Hydra v2\.3\.0 at http:\/\/127\.0\.0\.1:\d+ \(pid \d+\), on its own database/);
      expect(result.stderr).toMatch(/round 1 refresh +hydra +\d+ req\/s .* errors 0$/m);
      const out = result.stdout;
      expect(out).toMatch(/; peer hydra \(its defaults\);/);
      for (const operation of ['refresh', 'introspection']) {
        // Hydra's figures with Tollgate/Hydra and Tollgate/bare beside them, and no errors.
        expect(out).toMatch(
          new RegExp(
            `^\\| ${operation} \\| \\d+ \\| [\\d.]+ \\| [\\d.]+ \\| 0 \\| [\\d.]+ \\| \\d+\\.\\d\\d \\| \\d+\\.\\d\\d \\| \\d+\\.\\d\\d \\|$`,
            'm',
          ),
        );
      }
      expect(out).toMatch(/^\| hydra \| RS256 \| opaque, HMAC-SHA-512\/256 under the system secret \|$/m);
      expect(out).toMatch(/^\| tollgate \| ES256 \| /m);
      expect(out).toMatch(/^- (met|MISSED): refresh throughput Tollgate\/Hydra ≥ 1\.0: \d+\.\d\d$/m);
      expect(out).toMatch(/^Errors on Hydra: 0 /m);
    },
    120_000,
  );
});
