// PostgreSQL failures classified where they happen: the pool (pg) and Prisma's pg adapter report them with codes
// (SQLSTATEs, socket codes, Prisma's error codes and adapter kinds), and this module is the one that knows them.
// A failure that means "the database does not answer" leaves the database layer as DependencyUnavailable (503);
// anything else (a constraint, a bug) leaves as it came.
import { DependencyUnavailable, type DependencyFailureReason } from '../errors.js';

// 55000 is what a connection attempt gets from a database that does not allow connections (ALLOW_CONNECTIONS false).
const REFUSED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  '53300',
  '55000',
  '57P03',
  '08001',
  '08004',
  '3D000',
]);
const LOST = new Set(['ECONNRESET', 'EPIPE', '57P01', '57P02', '08000', '08003', '08006']);
const TIMEOUT = new Set(['ETIMEDOUT', '57014', '55P03']);
// Prisma's own codes: P1001 unreachable, P1002 timed out, P1008 operation timed out, P1017 connection closed,
// P2024 pool timeout, P2028 transaction API error (a transaction whose connection went away).
const PRISMA: Record<string, DependencyFailureReason> = {
  P1001: 'connection_refused',
  P1002: 'timeout',
  P1008: 'timeout',
  P1017: 'connection_lost',
  P2024: 'timeout',
  P2028: 'connection_lost',
};
// The kinds @prisma/adapter-pg gives driver failures (DriverAdapterError's cause).
const ADAPTER_KINDS: Record<string, DependencyFailureReason> = {
  DatabaseNotReachable: 'connection_refused',
  DatabaseDoesNotExist: 'connection_refused',
  TooManyConnections: 'connection_refused',
  ConnectionClosed: 'connection_lost',
  SocketTimeout: 'timeout',
};

function reasonOfCode(code: unknown): DependencyFailureReason | undefined {
  if (typeof code !== 'string') return undefined;
  if (REFUSED.has(code)) return 'connection_refused';
  if (LOST.has(code)) return 'connection_lost';
  if (TIMEOUT.has(code)) return 'timeout';
  return undefined;
}

interface Failure {
  name?: string;
  code?: unknown;
  severity?: unknown;
  message?: string;
  cause?: unknown;
  meta?: { driverAdapterError?: { cause?: { kind?: string; code?: string } } };
}

/**
 * pg raises its connection-level failures ("Connection terminated unexpectedly", "timeout exceeded when trying to
 * connect", "Query read timeout", a pool already ended) as plain Errors without a code; its server errors carry a
 * SQLSTATE and a severity, socket errors a code. So a codeless, severity-less Error from the driver is a connection
 * failure, told apart by what pg calls it only for the metric's reason label.
 */
function reasonOfDriverError(e: Failure): DependencyFailureReason | undefined {
  const byCode = reasonOfCode(e.code);
  if (byCode) return byCode;
  if (e.code !== undefined || e.severity !== undefined || e.name !== 'Error') return undefined;
  return /timeout/i.test(e.message ?? '') ? 'timeout' : 'connection_lost';
}

function reasonOfPrismaError(e: Failure): DependencyFailureReason | undefined {
  if (e.name === 'PrismaClientInitializationError') return 'connection_refused';
  if (e.name === 'PrismaClientKnownRequestError' || e.name === 'PrismaClientUnknownRequestError') {
    const prismaReason = typeof e.code === 'string' ? PRISMA[e.code] : undefined;
    if (prismaReason) return prismaReason;
    const adapter = e.meta?.driverAdapterError?.cause;
    if (adapter?.kind === 'postgres') return reasonOfCode(adapter.code);
    if (adapter?.kind) return ADAPTER_KINDS[adapter.kind];
    // A driver failure the adapter did not map travels as the cause.
    return e.cause && typeof e.cause === 'object' ? reasonOfDriverError(e.cause as Failure) : undefined;
  }
  if (e.name === 'DriverAdapterError') {
    const cause = e.cause as { kind?: string; code?: string } | undefined;
    return cause?.kind === 'postgres' ? reasonOfCode(cause.code) : cause?.kind ? ADAPTER_KINDS[cause.kind] : undefined;
  }
  return reasonOfCode(e.code); // a socket error the adapter let through
}

const classify = (err: unknown, reasonOf: (e: Failure) => DependencyFailureReason | undefined): unknown => {
  if (err instanceof DependencyUnavailable || !err || typeof err !== 'object') return err;
  const reason = reasonOf(err as Failure);
  return reason ? new DependencyUnavailable('database', reason, err) : err;
};

/** A failure of pg itself (the pool, a pooled client): DependencyUnavailable when the database did not answer. */
export const classifyDriverFailure = (err: unknown): unknown => classify(err, reasonOfDriverError);

/**
 * A failure of a Prisma call: DependencyUnavailable when the database did not answer. Only Prisma's errors are
 * read, never a plain Error: inside an interactive transaction the callback's own errors come through here too.
 */
export const classifyPrismaFailure = (err: unknown): unknown => classify(err, reasonOfPrismaError);
