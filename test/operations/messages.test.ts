// What an operator reads: CLI help in plain text, the nearest command for a typo, arguments checked before any
// storage is opened, and start-up failures that name the service, the address and the variable.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { runCliInProcess } from '../support/cli.js';
import { freePort, runCli, runEntry, stopAllProcesses } from '../support/process.js';

/** The CLI's one JSON error line (Node 20 adds oidc-provider's runtime warning on stderr before it). */
const errorOf = (stderr: string) =>
  JSON.parse(stderr.trim().split('\n').at(-1)!) as { error: string; error_description: string };

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'tg-msg-'));
});
afterAll(async () => {
  await stopAllProcesses();
  await rm(base, { recursive: true, force: true });
});

describe('CLI help and mistakes', () => {
  // Spawned, as an operator runs it; the other CLI checks here run in-process (test/support/cli.ts).
  it('--help prints the commands as plain text and exits 0', async () => {
    const res = await runCli(['--help'], { env: { DATA_DIR: join(base, 'help') } });
    expect(res.code).toBe(0);
    expect(res.json).toBeUndefined(); // not a JSON document
    expect(res.stdout).not.toContain('\\n');
    expect(res.stdout).toContain('usage: npm run --silent cli -- <command> [options]');
    expect(res.stdout).toMatch(/^ {2}users create --username U --password-stdin/m);
    expect(res.stdout).toMatch(/^ {2}keys rotate/m);
  });

  it('<command> --help prints that command only', async () => {
    const res = await runCliInProcess(['clients', 'create', '--help'], { env: { DATA_DIR: join(base, 'help') } });
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('clients create --name N [--redirect-uri URI]...');
    expect(res.stdout).not.toContain('users create');
    expect(await readdir(base)).not.toContain('help'); // help opens nothing
  });

  it('an unknown command suggests the nearest one', async () => {
    const res = await runCliInProcess(['user', 'create', '--username', 'x'], { env: { DATA_DIR: join(base, 'typo') } });
    expect(res.code).toBe(1);
    expect(errorOf(res.stderr)).toEqual({
      error: 'invalid_request',
      error_description: 'unknown command "user create"; did you mean "users create"? (--help lists the commands)',
    });
  });

  it('checks the arguments before opening the database', async () => {
    const port = await freePort(); // nothing listens: opening the database would fail with a connection error
    const res = await runCliInProcess(['clients', 'create', '--nme', 'App'], {
      env: { DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/nothing`, DATA_DIR: join(base, 'args') },
    });
    expect(res.code).toBe(1);
    expect(errorOf(res.stderr)).toEqual({
      error: 'invalid_request',
      error_description: "Unknown option '--nme' (see: clients create --help)",
    });
    const embedded = await runCliInProcess(['keys', 'rotate', '--alg', 'HS256'], {
      env: { DATA_DIR: join(base, 'args') },
    });
    expect(embedded.code).toBe(1);
    expect(errorOf(embedded.stderr)).toMatchObject({ error_description: '--alg must be ES256 or RS256' });
    expect(await readdir(base)).not.toContain('args'); // no embedded database was created
  });
});

describe('start-up failures name the variable and the address', () => {
  it('Redis refusing connections', async () => {
    const port = await freePort();
    const res = await runEntry('src/main.ts', [], {
      env: { DATA_DIR: join(base, 'redis'), PORT: String(await freePort()), REDIS_URL: `redis://127.0.0.1:${port}` },
      timeoutMs: 60_000,
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `tollgate failed to start: cannot reach Redis at redis://127.0.0.1:${port} (REDIS_URL): connection refused`,
    );
  });

  it('PostgreSQL refusing connections, without printing the password', async () => {
    const port = await freePort();
    const res = await runEntry('src/main.ts', [], {
      env: {
        DATABASE_URL: `postgresql://tollgate:s3cret-pw@127.0.0.1:${port}/tollgate`,
        PORT: String(await freePort()),
      },
      timeoutMs: 60_000,
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      `cannot reach PostgreSQL at postgresql://tollgate:***@127.0.0.1:${port}/tollgate (DATABASE_URL): connection refused`,
    );
    expect(res.stderr).not.toContain('s3cret-pw');
    const cli = await runCliInProcess(['tokens', 'prune'], {
      env: { DATABASE_URL: `postgresql://tollgate:s3cret-pw@127.0.0.1:${port}/tollgate` },
    });
    expect(cli.code).toBe(1);
    expect(errorOf(cli.stderr).error_description).toBe(
      `cannot reach PostgreSQL at postgresql://tollgate:***@127.0.0.1:${port}/tollgate (DATABASE_URL): connection refused`,
    );
  });

  it('a port already in use', async () => {
    const { createServer } = await import('node:net');
    const busy = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const res = await runEntry('src/main.ts', [], {
        env: { DATA_DIR: join(base, 'port'), PORT: String(port), HOST: '127.0.0.1' },
        timeoutMs: 60_000,
      });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`cannot listen on 127.0.0.1:${port} (PORT, HOST): address already in use`);
    } finally {
      busy.close();
    }
  });
});
