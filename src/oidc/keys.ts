// Signing keys: generated on first start, persisted with the private part sealed (AES-256-GCM, key derived from
// the server secret), and loaded once per process. Every install has an active ES256 key and an active RS256 key:
// ES256 is the default (about 10x cheaper to sign than RS256 on these machines, SIGNING_KEY_ALG chooses), and RS256
// is there because OpenID Connect Discovery §3 and Core §15.1 require an OP to offer it for ID tokens; a client
// picks it with `id_token_signed_response_alg`. Instances starting together on one database may each generate a
// key; all of them are published, and every instance signs with the oldest active one of each algorithm.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';

import type { PrismaClient } from '../db/generated/client.js';
import type { Sealer } from '../crypto/seal.js';
import {
  countActiveSigningKeys,
  insertSigningKey,
  listSigningKeysSince,
  retireSigningKeys,
  unretiredSigningKids,
} from '../crypto/stored-keys.js';

import { SIGNING_ALGS, type SigningAlg } from '../crypto/signing-algs.js';

export { isSigningAlg, SIGNING_ALGS, type SigningAlg } from '../crypto/signing-algs.js';

export interface SigningKeys {
  /** Private JWKs for oidc-provider's `jwks`: active keys first (default algorithm first), then retired ones. */
  jwks: { keys: JWK[] };
}

const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']);

/** A JWK without its private members: what may be published. */
export const publicJwk = (jwk: JWK): JWK =>
  Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.has(name))) as JWK;

async function generateKey(prisma: PrismaClient, sealer: Sealer, alg: SigningAlg): Promise<string> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' ? { modulusLength: 2048 } : {}),
  });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  const full = { ...jwk, kid, alg, use: 'sig' };
  await insertSigningKey(prisma, {
    kid,
    alg,
    publicJwk: publicJwk(full) as object,
    privateJwk: sealer.seal(JSON.stringify(full), `signing-key:${kid}`),
  });
  return kid;
}

/**
 * Loads the signing keys, generating one for each algorithm that has none active. A key signs until its
 * `retiredAt` has passed: a rotation sets it in the future (now + KEY_ACTIVATION_DELAY_SECONDS), so the next key is
 * published at once and signs only after the delay. For each algorithm the oldest key still signing comes first
 * (oidc-provider signs with the first one), `alg` (the default one) before the other; keys waiting to take over come
 * next, then retired keys, published for `retiredPublishSeconds` (the longest lifetime of anything they signed).
 * `nextChangeAt`: when the next waiting key takes over, if one does.
 */
export async function loadSigningKeys(
  prisma: PrismaClient,
  sealer: Sealer,
  alg: SigningAlg,
  retiredPublishSeconds = 86_400,
): Promise<SigningKeys & { nextChangeAt?: Date }> {
  for (const each of SIGNING_ALGS) {
    const active = await countActiveSigningKeys(prisma, each);
    if (active === 0) await generateKey(prisma, sealer, each);
  }
  const now = Date.now();
  const publishedSince = new Date(now - retiredPublishSeconds * 1000);
  const rows = await listSigningKeysSince(prisma, publishedSince);
  const signing = (r: (typeof rows)[number]) => !r.retiredAt || r.retiredAt.getTime() > now;
  const first = new Map<string, (typeof rows)[number]>();
  for (const r of rows) if (signing(r) && !first.has(r.alg)) first.set(r.alg, r);
  const signers = [first.get(alg), ...[...first.values()].filter((r) => r.alg !== alg)].filter((r) => r !== undefined);
  const ordered = [
    ...signers,
    ...rows.filter((r) => signing(r) && !signers.includes(r)), // published, waiting to take over
    ...rows.filter((r) => !signing(r)).reverse(), // newest retired first
  ];
  const upcoming = rows.map((r) => r.retiredAt?.getTime()).filter((t): t is number => t !== undefined && t > now);
  return {
    jwks: { keys: ordered.map((r) => JSON.parse(sealer.open(r.privateJwk, `signing-key:${r.kid}`)) as JWK) },
    ...(upcoming.length ? { nextChangeAt: new Date(Math.min(...upcoming)) } : {}),
  };
}

export interface Rotation {
  alg: SigningAlg;
  kid: string;
  retired: string[];
  /** When the new key starts signing (the previous ones stop). */
  activatesAt: Date;
}

/**
 * Adds the next key for `alg`: published at once, signing after `activationDelaySeconds` (relying parties' JWKS
 * caches have seen it by then), when the previous keys retire (still published, see above). Running instances
 * hear of it through the store (src/oidc/key-ring.ts).
 */
export async function rotateSigningKey(
  prisma: PrismaClient,
  sealer: Sealer,
  alg: SigningAlg,
  activationDelaySeconds = 0,
): Promise<Rotation> {
  const previous = await unretiredSigningKids(prisma, alg);
  const kid = await generateKey(prisma, sealer, alg);
  const activatesAt = new Date(Date.now() + activationDelaySeconds * 1000);
  await retireSigningKeys(prisma, previous, activatesAt);
  return { alg, kid, retired: previous, activatesAt };
}
