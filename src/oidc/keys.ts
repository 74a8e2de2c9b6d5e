// Signing keys: generated on first start, persisted with the private part sealed (AES-256-GCM, key derived from
// the server secret), and loaded once per process. Every install has an active ES256 key and an active RS256 key:
// ES256 is the default (about 10x cheaper to sign than RS256 on these machines, SIGNING_KEY_ALG chooses), and RS256
// is there because OpenID Connect Discovery §3 and Core §15.1 require an OP to offer it for ID tokens; a client
// picks it with `id_token_signed_response_alg`. Instances starting together on one database may each generate a
// key; all of them are published, and every instance signs with the oldest active one of each algorithm.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

import type { PrismaClient } from '../db/generated/client.js';
import type { Sealer } from '../crypto/seal.js';

import { SIGNING_ALGS, type SigningAlg } from '../crypto/signing-algs.js';

export { isSigningAlg, SIGNING_ALGS, type SigningAlg } from '../crypto/signing-algs.js';

export interface SigningKeys {
  /** Private JWKs for oidc-provider's `jwks`: active keys first (default algorithm first), then retired ones. */
  jwks: { keys: JWK[] };
}

const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']);

/** A JWK without its private members: what may be published. */
export const publicJwk = (jwk: JWK): JWK => Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.has(name))) as JWK;

async function generateKey(prisma: PrismaClient, sealer: Sealer, alg: SigningAlg): Promise<string> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  const full = { ...jwk, kid, alg, use: 'sig' };
  await prisma.signingKey.create({
    data: { kid, alg, publicJwk: publicJwk(full) as object, privateJwk: sealer.seal(JSON.stringify(full), `signing-key:${kid}`) },
  });
  return kid;
}

/**
 * Loads the signing keys, generating one for each algorithm that has none active. `alg` (the default one) comes
 * first, so that oidc-provider signs with it when a client has not chosen. Retired keys stay published for
 * `retiredPublishSeconds` (the longest lifetime of anything they signed), so tokens signed before a rotation keep
 * verifying until they expire; after that they are no longer published.
 */
export async function loadSigningKeys(prisma: PrismaClient, sealer: Sealer, alg: SigningAlg, retiredPublishSeconds = 86_400): Promise<SigningKeys> {
  for (const each of SIGNING_ALGS) {
    const active = await prisma.signingKey.count({ where: { alg: each, retiredAt: null } });
    if (active === 0) await generateKey(prisma, sealer, each);
  }
  const publishedSince = new Date(Date.now() - retiredPublishSeconds * 1000);
  const rows = await prisma.signingKey.findMany({
    where: { OR: [{ retiredAt: null }, { retiredAt: { gt: publishedSince } }] },
    orderBy: { createdAt: 'asc' },
  });
  const ordered = [
    ...rows.filter((r) => !r.retiredAt && r.alg === alg),
    ...rows.filter((r) => !r.retiredAt && r.alg !== alg),
    ...rows.filter((r) => r.retiredAt).reverse(), // newest retired first
  ];
  return { jwks: { keys: ordered.map((r) => JSON.parse(sealer.open(r.privateJwk, `signing-key:${r.kid}`)) as JWK) } };
}

export interface Rotation {
  alg: SigningAlg;
  kid: string;
  retired: string[];
}

/**
 * Makes a new key the active one for `alg` and retires the previous ones (still published, see above). Running
 * instances sign with the new key once restarted; resource servers that meet an unknown `kid` refetch the JWKS.
 */
export async function rotateSigningKey(prisma: PrismaClient, sealer: Sealer, alg: SigningAlg): Promise<Rotation> {
  const previous = await prisma.signingKey.findMany({ where: { alg, retiredAt: null }, select: { kid: true } });
  const kid = await generateKey(prisma, sealer, alg);
  await prisma.signingKey.updateMany({ where: { kid: { in: previous.map((k) => k.kid) } }, data: { retiredAt: new Date() } });
  return { alg, kid, retired: previous.map((k) => k.kid) };
}
