// The embedded default: PostgreSQL compiled to WASM (PGlite), stored under DATA_DIR. PGlite is one process's
// database, so the process that owns it (the server, or a CLI when no server runs) holds a lock file, and the
// server shares it with other processes (the CLI) over a Unix socket speaking the PostgreSQL wire protocol.
import { open, readFile, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';

import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

import type { SqlRunner } from './sql.js';

export const socketDirFor = (dataDir: string) => resolve(dataDir);
const SOCKET_PORT = 5432;
export const socketPathFor = (dataDir: string) => join(socketDirFor(dataDir), `.s.PGSQL.${SOCKET_PORT}`);
export const pgliteSocketUrl = (dataDir: string) =>
  `postgresql://postgres@localhost:${SOCKET_PORT}/postgres?host=${encodeURIComponent(socketDirFor(dataDir))}`;

/** True when a live server is answering on the DATA_DIR's socket. */
export function isSocketServing(dataDir: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection(socketPathFor(dataDir));
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export class DataDirBusyError extends Error {
  override name = 'DataDirBusyError';
}

/** Takes DATA_DIR's lock for this process; a stale lock (dead pid) is taken over. */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, 'pglite.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(await readFile(file, 'utf8').catch(() => '0'));
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new DataDirBusyError(
          `the embedded database in ${dataDir} is in use by process ${pid}; run one server per DATA_DIR ` +
            '(set DATABASE_URL and REDIS_URL to run several instances)',
        );
      }
      await rm(file, { force: true });
    }
  }
  throw new DataDirBusyError(`could not lock ${dataDir}`);
}

export interface EmbeddedDatabase {
  pglite: PGlite;
  sql: SqlRunner;
  close(): Promise<void>;
}

export async function openPglite(
  dataDir: string,
  { serveSocket }: { serveSocket: boolean },
): Promise<EmbeddedDatabase> {
  const unlock = await lockDataDir(dataDir);
  let pglite: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    pglite = await PGlite.create(join(dataDir, 'pglite'));
    if (serveSocket) {
      await rm(socketPathFor(dataDir), { force: true });
      server = new PGLiteSocketServer({ db: pglite, path: socketPathFor(dataDir), maxConnections: 4 });
      await server.start();
    }
  } catch (err) {
    await pglite?.close().catch(() => {});
    await unlock();
    throw err;
  }
  const db = pglite;
  const runner = {
    async exec(script: string) {
      await db.exec(script);
    },
    async query<Row>(text: string, params?: unknown[]) {
      return (await db.query<Row>(text, params)).rows;
    },
  };
  return {
    pglite: db,
    sql: { ...runner, withConnection: (fn) => fn(runner) },
    async close() {
      await server?.stop().catch(() => {});
      await db.close();
      await rm(socketPathFor(dataDir), { force: true });
      await unlock();
    },
  };
}
