// Starts Tollgate as an operator would (`src/main.ts`, configured by the environment) on real PostgreSQL and
// Redis: a fresh database and a private Redis key prefix per run, removed again by stop(). Its user and clients
// are created through the operator's CLI, the documented way.
import { randomBytes } from 'node:crypto';

import pg from 'pg';

import { deleteRedisKeys, redisUrl } from '../test/support/postgres.js';
import { freePort, runCli } from '../test/support/process.js';
import { startChild, type ChildServer } from './children.js';
import { createBenchDatabase } from './database.js';
import { processTree } from './processes.js';
import { providerEndpoints, type Target } from './target.js';

const REDIRECT_URI = 'https://client.example.com/cb';

export interface TollgateOptions {
  /** Node flags for the server process (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** The server's entry point, relative to the repository: `src/main.ts` (what `npm start` runs), or a build. */
  entry?: string;
  /** Settings added to (or replacing) the benchmark's own. */
  env?: Record<string, string>;
  /** WORKERS: server processes (a cluster primary and its workers when more than 1). */
  workers?: number;
}

async function cli(args: string[], env: Record<string, string>, stdin?: string): Promise<Record<string, unknown>> {
  const result = await runCli(args, { env, ...(stdin !== undefined ? { stdin } : {}), timeoutMs: 60_000 });
  if (result.code !== 0 || typeof result.json !== 'object' || result.json === null) {
    throw new Error(
      `tollgate cli ${args.slice(0, 2).join(' ')} failed (${result.code}): ${result.stderr.slice(0, 500)}`,
    );
  }
  return result.json as Record<string, unknown>;
}

export async function startTollgate({
  nodeFlags = [],
  entry = 'src/main.ts',
  env: extra = {},
  workers = 1,
}: TollgateOptions = {}): Promise<Target> {
  const db = await createBenchDatabase();
  const prefix = `tg_bench:${randomBytes(6).toString('hex')}:`;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    PORT: String(port),
    ISSUER: url, // loopback by address, so every redirect the flows follow stays on 127.0.0.1
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl(),
    REDIS_KEY_PREFIX: prefix,
    TOLLGATE_SECRET: randomBytes(32).toString('base64url'),
    LOG_LEVEL: 'warn', // a log line per request would measure pino and the pipe, not Tollgate
    RATE_LIMIT_ENABLED: 'false',
    // 32 chains each rotating hundreds of times a second is the benchmark, not an attack: the velocity limit
    // (a family rotating more than REFRESH_VELOCITY_MAX times a window answers 429) must not trigger.
    REFRESH_VELOCITY_MAX: '1000000',
    ...extra,
    WORKERS: String(workers),
  };

  let child: ChildServer | undefined;
  // One connection for watching: which backends serve Tollgate's database (their CPU is Tollgate's cost).
  const monitor = new pg.Client({ connectionString: db.url });
  let monitoring = false;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await child?.stop();
      if (monitoring) await monitor.end().catch(() => {});
      await deleteRedisKeys(prefix).catch((err: unknown) =>
        console.error(`could not delete Redis keys ${prefix}*: ${String(err)}`),
      );
      await db.drop();
    })());

  try {
    await monitor.connect();
    monitoring = true;
    // With several workers /readyz answers as soon as the first listens; the others start while the CLI below and
    // the preparation run (seconds), and a worker that fails to start stops the whole cluster.
    child = await startChild('tollgate', entry, { env, nodeFlags, ready: { probe: `${url}/readyz` } });
    const password = randomBytes(12).toString('base64url');
    const user = await cli(['users', 'create', '--username', 'bench', '--password-stdin'], env, password);
    const code = await cli(['clients', 'create', '--name', 'Bench web app', '--redirect-uri', REDIRECT_URI], env);
    const cc = await cli(['clients', 'create', '--name', 'Bench service', '--admin'], env);
    const server = child;
    return {
      name: 'tollgate',
      workers,
      label: workers === 1 ? 'tollgate' : `tollgate ×${workers}`,
      url,
      pid: server.pid,
      endpoints: providerEndpoints(url),
      codeClient: {
        client_id: String(code.client_id),
        client_secret: String(code.client_secret),
        redirect_uri: REDIRECT_URI,
      },
      ccClient: { client_id: String(cc.client_id), client_secret: String(cc.client_secret), scope: String(cc.scope) },
      user: { username: String(user.username), password },
      async serverPids() {
        const { rows } = await monitor.query<{ pid: number }>(
          'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        return [...(await processTree(server.pid)), ...rows.map((r) => r.pid)];
      },
      warnings: () => server.warnings,
      stop,
    };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
