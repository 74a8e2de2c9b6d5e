import { describe, expect, it } from '@jest/globals';

import { createConcurrencyLimit } from '../../src/accounts/concurrency-limit.js';
import { hashPassword, verifyPassword } from '../../src/accounts/passwords.js';

describe('limiter', () => {
  it('never runs more than its maximum at once, and runs every task', async () => {
    const limiter = createConcurrencyLimit(2);
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        limiter.run(async () => {
          peak = Math.max(peak, limiter.running);
          await new Promise((r) => setTimeout(r, 5));
          return i;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(limiter.running).toBe(0);
  });

  it('frees its slot when a task fails', async () => {
    const limiter = createConcurrencyLimit(1);
    await expect(
      limiter.run(async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await limiter.run(async () => 'next')).toBe('next');
  });
});

describe('passwords', () => {
  it('verifies argon2id hashes, under the limiter, many at once', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(/^\$argon2id\$/);
    const checks = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => verifyPassword(stored, i === 3 ? 'correct horse battery staple' : 'wrong')),
    );
    expect(checks).toEqual([false, false, true, false, false]);
    expect(await verifyPassword(undefined, 'anything')).toBe(false);
  });
});

describe('sign-in gate', () => {
  it('admits the two being hashed plus maxWaiting, then answers busy; per address, at most perAddress', async () => {
    const { createSignInGate } = await import('../../src/accounts/sign-in-gate.js');
    const gate = createSignInGate({ maxWaiting: 3, perAddress: 2 });
    const a1 = gate.admit('a');
    const a2 = gate.admit('a');
    expect(gate.admit('a')).toEqual({ admitted: false, reason: 'address' });
    const others = ['b', 'c', 'd'].map((address) => gate.admit(address));
    expect([a1, a2, ...others].every((x) => x.admitted)).toBe(true);
    expect(gate.inProgress).toBe(5);
    expect(gate.admit('e')).toEqual({ admitted: false, reason: 'busy' });
    if (a1.admitted) {
      a1.done();
      a1.done(); // idempotent
    }
    expect(gate.inProgress).toBe(4);
    expect(gate.admit('e').admitted).toBe(true);
    expect(gate.admit('a')).toEqual({ admitted: false, reason: 'busy' });
  });
});
