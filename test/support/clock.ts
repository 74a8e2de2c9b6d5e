// Time travel for tests of expiry, instead of waiting in real time. The servers these tests boot run in the test's
// own process, and every expiry decision they make, ours and oidc-provider's (whose models compare `exp` with
// Date.now(), with no clock to inject), reads this process's Date. `laterBy` moves Date forward; timers, pg, Redis
// and the sockets keep real time, and what Redis expires on its own clock (TTLs) is not moved: a test sees exactly
// what a server sees at that later moment while the stored entries it looks up are still there.
import { jest } from '@jest/globals';

/** Everything but Date stays real. */
const REAL: Parameters<typeof jest.useFakeTimers>[0] = {
  doNotFake: [
    'hrtime',
    'nextTick',
    'performance',
    'queueMicrotask',
    'requestAnimationFrame',
    'cancelAnimationFrame',
    'requestIdleCallback',
    'cancelIdleCallback',
    'setImmediate',
    'clearImmediate',
    'setInterval',
    'clearInterval',
    'setTimeout',
    'clearTimeout',
  ],
};

/** Runs `fn` with this process's clock `ms` ahead (and still running); the real clock is back afterwards. */
export async function laterBy<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  jest.useFakeTimers({ ...REAL, advanceTimers: true, now: Date.now() + ms });
  try {
    return await fn();
  } finally {
    jest.useRealTimers();
  }
}
