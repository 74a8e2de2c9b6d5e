// Opens the durable database: PostgreSQL through a pooled pg connection when DATABASE_URL is set, otherwise the
// embedded PGlite under DATA_DIR (reached over its socket when a server already owns it). Either way the caller
// gets the same Prisma client and a SqlRunner.
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';

import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';

import type { Config } from '../config.js';
import { unreachable } from '../errors.js';
import { classifyDriverFailure, classifyPrismaFailure } from './failures.js';
import { PrismaClient } from './generated/client.js';
import { isSocketServing, openPglite, pgliteSocketUrl } from './pglite.js';
import type { SqlRunner } from './sql.js';

export type Prisma = PrismaClient;

/** Called after each round trip to PostgreSQL (metrics, and the round-trip budget test). */
export type QueryObserver = (durationMs: number, failed: boolean) => void;
/** Called with each failed round trip and each failed attempt to connect (a refused connection is no round trip). */
export type FailureObserver = (err: unknown) => void;

export interface Database {
  kind: 'postgres' | 'pglite' | 'pglite-socket';
  prisma: PrismaClient;
  sql: SqlRunner;
  /** Subscribes to round trips; returns the unsubscribe function. PGlite has no round trips and reports none. */
  observeQueries(observer: QueryObserver): () => void;
  /** Subscribes to failures (queries and connection attempts), classified (src/db/failures.ts); returns the unsubscribe function. */
  observeFailures(observer: FailureObserver): () => void;
  ping(): Promise<void>;
  close(): Promise<void>;
}

type DbConfig = Pick<Config, 'databaseUrl' | 'dataDir' | 'db'>;

/** pg's per-query read timeout for the dedicated connection (0 would fall back to the pool's bound). */
const UNBOUNDED_MS = 10 * 60_000;

const rethrow = (err: unknown): never => {
  throw classifyDriverFailure(err);
};

/**
 * The Prisma client with each call's failures classified (src/db/failures.ts): model operations through a query
 * extension, and the top-level calls (raw queries, transactions) that no extension sees, by wrapping them.
 */
function classifyingPrisma(base: PrismaClient): PrismaClient {
  const extended = base.$extends({
    query: {
      async $allOperations({ args, query }) {
        try {
          return await query(args);
        } catch (err) {
          throw classifyPrismaFailure(err);
        }
      },
    },
  }) as unknown as PrismaClient;
  const TOP_LEVEL = new Set(['$transaction', '$queryRaw', '$executeRaw', '$queryRawUnsafe', '$executeRawUnsafe']);
  return new Proxy(extended, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function' || !TOP_LEVEL.has(property as string)) return value;
      return (...args: unknown[]) => {
        const result = value.apply(target, args) as Promise<unknown>;
        return result.catch((err: unknown) => {
          throw classifyPrismaFailure(err);
        });
      };
    },
  });
}

function poolRunner(pool: pg.Pool, named: boolean): SqlRunner {
  return {
    async exec(script) {
      await pool.query(script).catch(rethrow);
    },
    async query(text, params, name) {
      return (
        await pool.query({ text, values: params as unknown[], ...(named && name ? { name } : {}) }).catch(rethrow)
      ).rows;
    },
    // The dedicated connection serves migrations: operator work, not a request, so the request-path bounds
    // (statement, lock and read timeouts) do not apply; a busy machine must not fail a migration halfway.
    async withConnection(fn) {
      const client = await pool.connect().catch(rethrow);
      try {
        await client.query('SET statement_timeout = 0; SET lock_timeout = 0');
        return await fn({
          async exec(script) {
            await client.query({ text: script, query_timeout: UNBOUNDED_MS } as pg.QueryConfig);
          },
          async query(text, params) {
            return (
              await client.query({ text, values: params as unknown[], query_timeout: UNBOUNDED_MS } as pg.QueryConfig)
            ).rows;
          },
        });
      } finally {
        await client.query('RESET statement_timeout; RESET lock_timeout').catch(() => {});
        client.release();
      }
    },
  };
}

type QueryFn = (...args: unknown[]) => unknown;

/** Wraps a pooled client's query (promise and callback styles) so every round trip is reported once. */
function instrument(client: pg.PoolClient, observers: Set<QueryObserver>, failures: Set<FailureObserver>) {
  const original = client.query as unknown as QueryFn;
  const report = (started: number, err: unknown) => {
    const ms = performance.now() - started;
    for (const observer of observers) observer(ms, Boolean(err));
    if (err) for (const observer of failures) observer(classifyDriverFailure(err));
  };
  (client as unknown as { query: QueryFn }).query = function query(this: unknown, ...args: unknown[]) {
    const started = performance.now();
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (err: unknown, res: unknown) => {
        report(started, err);
        callback(err, res);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args) as Promise<unknown> | undefined;
    if (!result || typeof result.then !== 'function') return result;
    return result.then(
      (value) => {
        report(started, undefined);
        return value;
      },
      (err: unknown) => {
        report(started, err ?? new Error('query failed'));
        throw err;
      },
    );
  };
}

/**
 * Named statements are prepared once per connection and then only executed: the hot queries (the refresh lookup
 * joins four tables) stop being planned on every call. Queries are constant texts with parameters, so the set of
 * names is small and fixed.
 */
const statementName = ({ sql }: { sql: string }) =>
  `tg_${createHash('sha1').update(sql).digest('base64url').slice(0, 24)}`;

type ConnectCallback = (err: Error | undefined, client?: pg.PoolClient, done?: (release?: unknown) => void) => void;

/** Reports failed connection attempts (pool.query connects through pool.connect too, as Prisma's adapter does). */
function reportConnectFailures(pool: pg.Pool, failures: Set<FailureObserver>) {
  const connect = pool.connect.bind(pool) as (cb?: ConnectCallback) => Promise<pg.PoolClient> | undefined;
  const report = (err: unknown) => {
    for (const observer of failures) observer(classifyDriverFailure(err));
  };
  (pool as unknown as { connect: (cb?: ConnectCallback) => unknown }).connect = (cb?: ConnectCallback) => {
    if (cb) {
      return connect((err, client, done) => {
        if (err) report(err);
        cb(err, client, done);
      });
    }
    return connect()!.catch((err: unknown) => {
      report(err);
      throw err;
    });
  };
}

function fromPool(kind: Database['kind'], pool: pg.Pool): Database {
  const observers = new Set<QueryObserver>();
  const failures = new Set<FailureObserver>();
  pool.on('connect', (client) => instrument(client, observers, failures));
  reportConnectFailures(pool, failures);
  const sql = poolRunner(pool, kind === 'postgres');
  // Not over PGlite's socket: its connections share one backend session, where statement names would collide.
  const options = kind === 'postgres' ? { statementNameGenerator: statementName } : {};
  const prisma = classifyingPrisma(new PrismaClient({ adapter: new PrismaPg(pool, options) }));
  return {
    kind,
    prisma,
    sql,
    observeQueries(observer) {
      observers.add(observer);
      return () => observers.delete(observer);
    },
    observeFailures(observer) {
      failures.add(observer);
      return () => failures.delete(observer);
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

export function createPool(url: string, cfg: Config['db']): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: cfg.poolSize,
    connectionTimeoutMillis: cfg.connectTimeoutMs,
    // Bounded statements and lock waits: an unhealthy database turns into a quick 503, not a hung request.
    statement_timeout: cfg.statementTimeoutMs,
    query_timeout: cfg.statementTimeoutMs + 1000,
    lock_timeout: cfg.statementTimeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  pool.on('error', () => {}); // an idle client died; the pool replaces it and the next query reports any outage
  return pool;
}

/**
 * `serve`: this process is the server; in embedded mode it owns PGlite and shares it over a socket. Otherwise
 * (the CLI) it joins a running server's socket, or opens PGlite itself when no server runs.
 */
export async function openDatabase(config: DbConfig, { serve }: { serve: boolean }): Promise<Database> {
  if (config.databaseUrl) {
    const db = fromPool('postgres', createPool(config.databaseUrl, config.db));
    // One round trip now, so that a wrong or dead DATABASE_URL fails the start with a message naming it.
    try {
      await db.ping();
    } catch (err) {
      await db.close().catch(() => {});
      throw unreachable('PostgreSQL', config.databaseUrl, 'DATABASE_URL', err);
    }
    return db;
  }

  await mkdir(config.dataDir, { recursive: true });
  if (!serve && (await isSocketServing(config.dataDir))) {
    return fromPool('pglite-socket', createPool(pgliteSocketUrl(config.dataDir), { ...config.db, poolSize: 1 }));
  }
  const embedded = await openPglite(config.dataDir, { serveSocket: serve });
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(embedded.pglite) });
  return {
    kind: 'pglite',
    prisma,
    sql: embedded.sql,
    observeQueries: () => () => {},
    observeFailures: () => () => {}, // in-process: no connection to lose
    async ping() {
      await embedded.pglite.query('SELECT 1');
    },
    async close() {
      await prisma.$disconnect();
      await embedded.close();
    },
  };
}
