// Signing keys: generated on first start, persisted with the private part sealed (AES-256-GCM, key derived from
// the server secret), and loaded once per process. ES256 by default (about 10x cheaper to sign than RS256 on
// these machines); RS256 when SIGNING_KEY_ALG=RS256. Instances starting together on one database may each
// generate a key; all of them are published, and every instance signs with the oldest active one.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

import type { PrismaClient } from '../db/generated/client.js';
import type { Sealer } from '../crypto/seal.js';

export type SigningAlg = 'ES256' | 'RS256';

export interface SigningKeys {
  /** Private JWKs for oidc-provider's `jwks`: active keys first (oldest first), then retired ones. */
  jwks: { keys: JWK[] };
}

async function generateKey(prisma: PrismaClient, sealer: Sealer, alg: SigningAlg): Promise<void> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  const full = { ...jwk, kid, alg, use: 'sig' };
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = full;
  await prisma.signingKey.create({
    data: { kid, alg, publicJwk, privateJwk: sealer.seal(JSON.stringify(full), `signing-key:${kid}`) },
  });
}

/**
 * Loads the signing keys, generating one for `alg` when none is active. Retired keys stay published for
 * `retiredPublishSeconds` (the longest lifetime of anything they signed), so tokens signed before a rotation keep
 * verifying until they expire; after that they are no longer published.
 */
export async function loadSigningKeys(prisma: PrismaClient, sealer: Sealer, alg: SigningAlg, retiredPublishSeconds = 86_400): Promise<SigningKeys> {
  const active = await prisma.signingKey.count({ where: { alg, retiredAt: null } });
  if (active === 0) await generateKey(prisma, sealer, alg);
  const publishedSince = new Date(Date.now() - retiredPublishSeconds * 1000);
  const rows = await prisma.signingKey.findMany({
    where: { OR: [{ retiredAt: null }, { retiredAt: { gt: publishedSince } }] },
    orderBy: { createdAt: 'asc' },
  });
  // The configured algorithm's keys come first so that oidc-provider signs with them by default.
  const ordered = [
    ...rows.filter((r) => !r.retiredAt && r.alg === alg),
    ...rows.filter((r) => !r.retiredAt && r.alg !== alg),
    ...rows.filter((r) => r.retiredAt).reverse(), // newest retired first
  ];
  return { jwks: { keys: ordered.map((r) => JSON.parse(sealer.open(r.privateJwk, `signing-key:${r.kid}`)) as JWK) } };
}

/**
 * Makes a new key the active one for `alg` and retires the previous ones (still published, see above). Running
 * instances sign with the new key once restarted; resource servers that meet an unknown `kid` refetch the JWKS.
 */
export async function rotateSigningKey(prisma: PrismaClient, sealer: Sealer, alg: SigningAlg): Promise<{ kid: string; retired: string[] }> {
  const previous = await prisma.signingKey.findMany({ where: { alg, retiredAt: null }, select: { kid: true } });
  await generateKey(prisma, sealer, alg);
  const newest = await prisma.signingKey.findFirstOrThrow({ where: { alg, retiredAt: null }, orderBy: { createdAt: 'desc' } });
  await prisma.signingKey.updateMany({ where: { kid: { in: previous.map((k) => k.kid) } }, data: { retiredAt: new Date() } });
  return { kid: newest.kid, retired: previous.map((k) => k.kid) };
}
