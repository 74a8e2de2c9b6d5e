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

/** Loads the signing keys, generating one for `alg` when none is active. */
export async function loadSigningKeys(prisma: PrismaClient, sealer: Sealer, alg: SigningAlg): Promise<SigningKeys> {
  const active = await prisma.signingKey.count({ where: { alg, retiredAt: null } });
  if (active === 0) await generateKey(prisma, sealer, alg);
  const rows = await prisma.signingKey.findMany({ orderBy: { createdAt: 'asc' } });
  // The configured algorithm's keys come first so that oidc-provider signs with them by default.
  const ordered = [
    ...rows.filter((r) => !r.retiredAt && r.alg === alg),
    ...rows.filter((r) => !r.retiredAt && r.alg !== alg),
    ...rows.filter((r) => r.retiredAt),
  ];
  return { jwks: { keys: ordered.map((r) => JSON.parse(sealer.open(r.privateJwk, `signing-key:${r.kid}`)) as JWK) } };
}
