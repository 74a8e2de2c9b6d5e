// `npm run bench` end to end, at the smallest size: both servers start on this machine's PostgreSQL and Redis,
// chains are prepared through real code flows, every operation runs, and the report prints its tables and the
// goals. It measures nothing here (one second per phase, two load workers); it keeps the benchmark from rotting.
// `--workers 1,2` adds a Tollgate of two server processes (WORKERS=2) to the same rounds, reported by worker count.
// It asks for the Hydra peer on a machine made to have no Go (its PATH without go, an empty binary cache): the peer
// is skipped with a message, and the run goes on and exits 0 (test/performance/bench-peer.test.ts runs Hydra itself).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';

import { runEntry } from '../support/process.js';
import { pathWithoutGo } from '../support/without-go.js';

const passThrough = Object.fromEntries(
  ['TEST_PG_ADMIN_URL', 'TEST_REDIS_URL'].flatMap((name) => (process.env[name] ? [[name, process.env[name]!]] : [])),
);

describe('npm run bench', () => {
  it('runs end to end and prints the comparison, the rounds, memory and the goals; without Go, skips the Hydra peer and says why', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'tg-bench-smoke-'));
    const result = await runEntry(
      'bench/run.ts',
      [
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
        '1',
        '--workers',
        '1,2',
        // The TypeScript entry (what `npm start` runs): a test builds nothing into dist/ as a side effect.
        '--tollgate-entry',
        'src/main.ts',
        '--peer',
        'hydra',
      ],
      {
        env: { ...passThrough, PATH: await pathWithoutGo(scratch), XDG_CACHE_HOME: join(scratch, 'empty-cache') },
        timeoutMs: 260_000,
      },
    ).finally(() => rm(scratch, { recursive: true, force: true }));
    expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr.slice(-2000) }).toEqual({
      code: 0,
      stderr: '',
    });
    const out = result.stdout;
    for (const operation of ['refresh', 'client_credentials', 'introspection']) {
      expect(out).toMatch(new RegExp(`^\\| ${operation} \\| bare \\| \\d+ \\|`, 'm'));
      expect(out).toMatch(new RegExp(`^\\| ${operation} \\| tollgate \\| \\d+ \\|.*\\| \\d+\\.\\d\\d \\|$`, 'm')); // with its ratio
    }
    expect(out).toMatch(/^\| code \+ PKCE flow \(1 browsers\) \| tollgate \| [\d.]+ flows\/s/m);
    expect(out).toMatch(/^Peak RSS, Tollgate: \d+ MiB/m);
    expect(out).toContain('Tollgate WORKERS 1, 2 (compared with bare: 1)');
    for (const operation of ['refresh', 'client_credentials', 'introspection']) {
      expect(out).toMatch(new RegExp(`^\\| ${operation} \\| 1 \\| \\d+ \\|.*\\| 0 \\| [\\d.]+ \\| 1\\.00 \\|$`, 'm'));
      expect(out).toMatch(
        new RegExp(`^\\| ${operation} \\| 2 \\| \\d+ \\|.*\\| 0 \\| [\\d.]+ \\| \\d+\\.\\d\\d \\|$`, 'm'),
      );
    }
    expect(out).toContain('Goals:');
    expect(out).toMatch(/^- met: zero errors \(Tollgate, every operation, code flows included\): 0$/m);
    // The peer: skipped before any server started, said on stderr and in the report, and nothing of it measured.
    expect(result.stderr).toMatch(/^\[bench\] --peer hydra: no Go toolchain on the PATH .* so the peer is skipped$/m);
    expect(result.stderr).not.toMatch(/round 1 \S+ +hydra/);
    expect(out).toMatch(/^### Durable peer: Ory Hydra v2\.3\.0\n\nSkipped: no Go toolchain on the PATH/m);
  }, 270_000);
});
