// What a result is worth depends on where it was measured: the machine and the versions of everything in the path.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, release, totalmem } from 'node:os';

import { Redis } from 'ioredis';

import { redisUrl } from '../test/support/postgres.js';
import { REPO_ROOT } from './children.js';
import { withPgAdmin } from './database.js';

const postgresVersion = () =>
  withPgAdmin(
    async (client) =>
      (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown',
  );

async function redisVersion(): Promise<string> {
  const client = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    return /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? 'unknown';
  } finally {
    client.disconnect();
  }
}

/** The commit measured, and whether the server's sources differed from it (a benchmark of a dirty tree says so). */
function sourceVersion(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const changed = git('status', '--porcelain', '--', 'src', 'adapters', 'views', 'prisma')
      .split('\n')
      .filter(Boolean).length;
    return `${git('rev-parse', '--short', 'HEAD')}${changed ? ` + uncommitted changes in ${changed} server source paths` : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

export async function describeMachine(): Promise<string> {
  const [postgres, redis] = await Promise.all([postgresVersion(), redisVersion()]);
  const oidcProvider = (createRequire(import.meta.url)('oidc-provider/package.json') as { version: string }).version;
  return [
    `CPU: ${availableParallelism()} × ${cpus()[0]?.model.trim() ?? 'unknown'}`,
    `Memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `Linux ${release()}, Node ${process.version}, PostgreSQL ${postgres}, Redis ${redis}, oidc-provider ${oidcProvider}`,
    `Tollgate commit ${sourceVersion()}`,
  ].join('\n');
}
