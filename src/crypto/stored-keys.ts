// Keys that must not change when the root secret does. Every stored token identifier and client secret is an HMAC
// under the token-hashing key, in PostgreSQL and in Redis; were that key derived from TOLLGATE_SECRET directly, a
// new secret would make every stored hash unfindable and sign everybody out. So the key is derived once (on the
// first start, from the secret of the day, which keeps existing installs' hashes valid), then stored sealed under
// the secret: a rotation re-seals it (`secrets reseal`) and lookups never need a second try.
// Every statement on `secret_keys` and `signing_keys` (docs/architecture.md, "Data access") is here; src/oidc/keys.ts
// decides which signing keys to make, publish and retire.
import type { PrismaClient } from '../db/generated/client.js';
import { StartupError } from '../errors.js';
import type { Sealer } from './seal.js';

const TOKEN_HASH = 'token-hash';
const context = (name: string) => `secret-key:${name}`;

/** The token-hashing key: the stored one, or `derived` stored now (the first instance to store it wins). */
export async function resolveTokenHashKey(prisma: PrismaClient, sealer: Sealer, derived: Buffer): Promise<Buffer> {
  let row = await prisma.secretKey.findUnique({ where: { name: TOKEN_HASH } });
  if (!row) {
    await prisma.secretKey.createMany({
      data: [{ name: TOKEN_HASH, sealed: sealer.seal(derived.toString('base64url'), context(TOKEN_HASH)) }],
      skipDuplicates: true,
    });
    row = await prisma.secretKey.findUniqueOrThrow({ where: { name: TOKEN_HASH } });
  }
  try {
    return Buffer.from(sealer.open(row.sealed, context(TOKEN_HASH)), 'base64url');
  } catch (err) {
    throw new StartupError(
      'cannot open the stored keys with TOLLGATE_SECRET: it was changed. Set TOLLGATE_SECRET_PREVIOUS to the secret they were sealed with (then run `secrets reseal`)',
      { cause: err },
    );
  }
}

/** Re-seals every stored key and every private signing key under the current secret; returns what it re-sealed. */
export async function resealStoredKeys(
  prisma: PrismaClient,
  sealer: Sealer,
): Promise<{ secret_keys: number; signing_keys: number }> {
  const secrets = await prisma.secretKey.findMany();
  for (const row of secrets) {
    const sealed = sealer.seal(sealer.open(row.sealed, context(row.name)), context(row.name));
    await prisma.secretKey.update({ where: { name: row.name }, data: { sealed } });
  }
  const signing = await prisma.signingKey.findMany({ select: { kid: true, privateJwk: true } });
  for (const key of signing) {
    const privateJwk = sealer.seal(sealer.open(key.privateJwk, `signing-key:${key.kid}`), `signing-key:${key.kid}`);
    await prisma.signingKey.update({ where: { kid: key.kid }, data: { privateJwk } });
  }
  return { secret_keys: secrets.length, signing_keys: signing.length };
}

/** Stores a signing key: its public JWK, and the private one already sealed. */
export async function insertSigningKey(
  prisma: PrismaClient,
  key: { kid: string; alg: string; publicJwk: object; privateJwk: string },
): Promise<void> {
  await prisma.signingKey.create({ data: key });
}

/** How many keys of `alg` sign now or will (not retired, or retiring later). */
export const countActiveSigningKeys = (prisma: PrismaClient, alg: string) =>
  prisma.signingKey.count({ where: { alg, OR: [{ retiredAt: null }, { retiredAt: { gt: new Date() } }] } });

/** Keys not retired or retired after `since`, oldest first. */
export const listSigningKeysSince = (prisma: PrismaClient, since: Date) =>
  prisma.signingKey.findMany({
    where: { OR: [{ retiredAt: null }, { retiredAt: { gt: since } }] },
    orderBy: { createdAt: 'asc' },
  });

/** The kids of the keys of `alg` with no retirement set. */
export async function unretiredSigningKids(prisma: PrismaClient, alg: string): Promise<string[]> {
  const rows = await prisma.signingKey.findMany({ where: { alg, retiredAt: null }, select: { kid: true } });
  return rows.map((r) => r.kid);
}

/** Sets the retirement instant of these keys. */
export async function retireSigningKeys(prisma: PrismaClient, kids: string[], at: Date): Promise<void> {
  await prisma.signingKey.updateMany({ where: { kid: { in: kids } }, data: { retiredAt: at } });
}
