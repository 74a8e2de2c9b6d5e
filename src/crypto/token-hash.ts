// Token identifiers are stored only as keyed hashes. HMAC rather than a plain digest: a stolen database without
// the key cannot even confirm a guessed token. No salt: the hash must be recomputable from the presented value.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type TokenHasher = (value: string) => string;

export function createTokenHasher(key: Buffer): TokenHasher {
  return (value) => createHmac('sha256', key).update(value).digest('base64url');
}

/** Constant-time comparison of two strings (length is not secret here: both sides are fixed-size hashes). */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
