// Dependency failures are classified where they happen, by the modules that know their drivers: what leaves the
// database and the store is DependencyUnavailable (503, with a reason) when the service did not answer, and the
// original error otherwise (a bug or a constraint answers 500 or its own status).
import { describe, expect, it } from '@jest/globals';
import { ReplyError } from 'ioredis';

import { DependencyUnavailable, dependencyFailureReason, isDependencyFailure } from '../../src/errors.js';
import { classifyDriverFailure, classifyPrismaFailure } from '../../src/db/failures.js';
import { classifyStoreFailure } from '../../src/store/redis-store.js';

const withCode = (message: string, code: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { code, ...extra });
const prismaError = (code: string, meta?: unknown, cause?: unknown) =>
  Object.assign(new Error('prisma'), { name: 'PrismaClientKnownRequestError', code, meta, cause });

describe('PostgreSQL failures', () => {
  it.each([
    ['a refused socket', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'), 'connection_refused'],
    [
      'a database that allows no connections',
      withCode('database "x" is not currently accepting connections', '55000', { severity: 'FATAL' }),
      'connection_refused',
    ],
    [
      'an administrator shutdown',
      withCode('terminating connection due to administrator command', '57P01', { severity: 'FATAL' }),
      'connection_lost',
    ],
    [
      'a statement timeout',
      withCode('canceling statement due to statement timeout', '57014', { severity: 'ERROR' }),
      'timeout',
    ],
    ["pg's own connection failure (no code)", new Error('Connection terminated unexpectedly'), 'connection_lost'],
    ["pg's connect timeout (no code)", new Error('timeout exceeded when trying to connect'), 'timeout'],
  ])('%s from the driver is a dependency failure', (_, err, reason) => {
    const classified = classifyDriverFailure(err);
    expect(classified).toBeInstanceOf(DependencyUnavailable);
    expect(classified).toMatchObject({
      status: 503,
      error: 'temporarily_unavailable',
      dependency: 'database',
      reason,
      cause: err,
    });
    expect(isDependencyFailure(classified)).toBe(true);
    expect(dependencyFailureReason(classified)).toBe(reason);
  });

  it.each([
    ['a unique violation', withCode('duplicate key value violates unique constraint', '23505', { severity: 'ERROR' })],
    ['a missing table (a bug)', withCode('relation "x" does not exist', '42P01', { severity: 'ERROR' })],
    [
      'a protocol violation (a bug, though class 08)',
      withCode('bind message supplies 1 parameters', '08P01', { severity: 'ERROR' }),
    ],
    ['a programming error', new TypeError('x is not a function')],
  ])('%s from the driver is left as it is', (_, err) => {
    expect(classifyDriverFailure(err)).toBe(err);
    expect(isDependencyFailure(err)).toBe(false);
  });

  it.each([
    ['P1001 (unreachable)', prismaError('P1001'), 'connection_refused'],
    ['P2024 (pool timeout)', prismaError('P2024'), 'timeout'],
    [
      'an adapter kind',
      prismaError('P2010', { driverAdapterError: { cause: { kind: 'DatabaseNotReachable' } } }),
      'connection_refused',
    ],
    [
      'a SQLSTATE through the adapter',
      prismaError('P2010', { driverAdapterError: { cause: { kind: 'postgres', code: '57014' } } }),
      'timeout',
    ],
    [
      'a driver failure the adapter did not map',
      prismaError('P2010', undefined, new Error('Connection terminated unexpectedly')),
      'connection_lost',
    ],
  ])('Prisma: %s is a dependency failure', (_, err, reason) => {
    expect(classifyPrismaFailure(err)).toMatchObject({ dependency: 'database', reason });
  });

  it('Prisma: a constraint, or an error thrown inside a transaction callback, is left as it is', () => {
    const unique = prismaError('P2002');
    expect(classifyPrismaFailure(unique)).toBe(unique);
    const ours = new Error('thrown by our own code inside $transaction');
    expect(classifyPrismaFailure(ours)).toBe(ours);
    const tableGone = prismaError('P2010', { driverAdapterError: { cause: { kind: 'TableDoesNotExist' } } });
    expect(classifyPrismaFailure(tableGone)).toBe(tableGone);
  });
});

describe('Redis failures', () => {
  it.each([
    ['a closed connection', new Error('Connection is closed.'), 'not_connected'],
    [
      'no offline queue while down',
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      'not_connected',
    ],
    ['a command timeout', new Error('Command timed out'), 'timeout'],
    ['a refused socket', withCode('connect ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED'), 'connection_refused'],
    ['a server still loading its data', new ReplyError('LOADING Redis is loading the dataset in memory'), 'other'],
  ])('%s is a dependency failure', (_, err, reason) => {
    expect(classifyStoreFailure(err)).toMatchObject({ status: 503, dependency: 'store', reason });
  });

  it('a reply error of the command itself (WRONGTYPE, a script error) is a bug, left as it is', () => {
    const wrongType = new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value');
    expect(classifyStoreFailure(wrongType)).toBe(wrongType);
    const typeError = new TypeError('bad argument');
    expect(classifyStoreFailure(typeError)).toBe(typeError);
  });

  it('a wrapped dependency failure is still recognised, and classified once', () => {
    const first = classifyStoreFailure(new Error('Connection is closed.'));
    expect(classifyStoreFailure(first)).toBe(first);
    expect(isDependencyFailure(new Error('wrapped', { cause: first }))).toBe(true);
  });
});
