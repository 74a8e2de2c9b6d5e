// Initial access tokens (RFC 7591 §3): an admin hands one to a developer, whose registration request carries it as
// a Bearer token. 256 random bits, shown once, stored as an HMAC; each registration takes one use with one
// conditional write, so `max_uses` holds however many registrations race, on however many instances.
import { randomBytes } from 'node:crypto';

import type { TokenHasher } from '../crypto/token-hash.js';
import type { PrismaClient } from '../db/generated/client.js';
import { InvalidRequest } from '../errors.js';

export const DEFAULT_EXPIRES_IN = 86_400; // a day: long enough to hand over, short enough not to linger
export const DEFAULT_MAX_USES = 1;
const MAX_EXPIRES_IN = 365 * 86_400;
const MAX_USES = 1_000_000;

export interface RegistrationTokenInput {
  expiresIn?: number | undefined;
  maxUses?: number | undefined;
}

export interface IssuedRegistrationToken {
  token: string;
  expires_at: string;
  max_uses: number;
}

export async function createRegistrationToken(
  prisma: PrismaClient,
  hash: TokenHasher,
  input: RegistrationTokenInput,
): Promise<IssuedRegistrationToken> {
  const expiresIn = input.expiresIn ?? DEFAULT_EXPIRES_IN;
  const maxUses = input.maxUses ?? DEFAULT_MAX_USES;
  if (!Number.isSafeInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_EXPIRES_IN)
    throw new InvalidRequest(`expires_in must be an integer from 1 to ${MAX_EXPIRES_IN} seconds`);
  if (!Number.isSafeInteger(maxUses) || maxUses < 1 || maxUses > MAX_USES)
    throw new InvalidRequest(`max_uses must be an integer from 1 to ${MAX_USES}`);
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + expiresIn * 1000);
  await prisma.registrationToken.create({ data: { id: hash(token), expiresAt, maxUses } });
  return { token, expires_at: expiresAt.toISOString(), max_uses: maxUses };
}

/** Takes one use of a live token; the hash of the token when one was left, undefined otherwise. */
export async function takeRegistrationTokenUse(
  prisma: PrismaClient,
  hash: TokenHasher,
  token: string,
): Promise<string | undefined> {
  const id = hash(token);
  const taken = await prisma.$executeRaw`
    UPDATE registration_tokens SET uses = uses + 1
     WHERE id = ${id} AND expires_at > now() AND uses < max_uses`;
  return taken === 1 ? id : undefined;
}

/** Gives a use back when the registration it was taken for did not happen (the request was refused). */
export async function returnRegistrationTokenUse(prisma: PrismaClient, id: string): Promise<void> {
  await prisma.$executeRaw`UPDATE registration_tokens SET uses = uses - 1 WHERE id = ${id} AND uses > 0`;
}
