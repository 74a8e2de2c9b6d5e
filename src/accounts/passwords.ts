// Password hashing: argon2id with the parameters OWASP recommends for it (19 MiB, 2 iterations, 1 lane).
import { hash, verify } from '@node-rs/argon2';

import { createConcurrencyLimit } from './concurrency-limit.js';

const OPTIONS = {
  algorithm: 2 /* Argon2id; the enum is an ambient const enum */,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

export const MAX_PASSWORD_LENGTH = 1024; // bounds the hashing work a request can ask for

// Two at a time: the machines this runs on have two cores, and each hash holds 19 MiB while it runs. How many
// sign-ins may wait behind them is bounded by src/accounts/sign-in-gate.ts.
export const HASH_CONCURRENCY = 2;
const hashing = createConcurrencyLimit(HASH_CONCURRENCY);

/** Runs `task` in one of the hashing slots, in turn with password checks (a test holds both to fill them for sure). */
export const inHashingSlot = <T>(task: () => Promise<T>): Promise<T> => hashing.run(task);

export function hashPassword(password: string): Promise<string> {
  return hashing.run(() => hash(password, OPTIONS));
}

// Verified against when the username is unknown, so that both cases cost the same and timing reveals nothing.
const DUMMY = hash('tollgate-dummy-password', OPTIONS);

export async function verifyPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  try {
    const dummy = passwordHash ?? (await DUMMY);
    const ok = await hashing.run(() => verify(dummy, password));
    return ok && passwordHash !== undefined;
  } catch {
    return false;
  }
}
