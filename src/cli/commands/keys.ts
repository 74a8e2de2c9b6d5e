import { parseArgs } from 'node:util';

import { createSealer } from '../../crypto/seal.js';
import { InvalidRequest } from '../../errors.js';
import { isSigningAlg, rotateSigningKey, SIGNING_ALGS, type SigningAlg } from '../../oidc/keys.js';
import { announceSigningKeyChange } from '../../oidc/key-ring.js';
import { openStore } from '../../store/index.js';
import type { CliContext } from '../context.js';

/** With a shared store (REDIS_URL), running instances reload their keys at once; embedded, at their next reload. */
async function announceKeys(ctx: CliContext): Promise<boolean> {
  if (!ctx.config.redisUrl) return false;
  const store = await openStore(ctx.config);
  try {
    await announceSigningKeyChange(store);
    return true;
  } finally {
    await store.close();
  }
}

/**
 * keys rotate [--alg ES256|RS256]: a new active signing key for each algorithm (or only the one named); the old
 * ones stay published until what they signed has expired.
 */
export async function keysRotate(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({ args, options: { alg: { type: 'string' } }, strict: true });
  if (values.alg !== undefined && !isSigningAlg(values.alg)) throw new InvalidRequest('--alg must be ES256 or RS256');
  const algs: readonly SigningAlg[] = values.alg ? [values.alg] : SIGNING_ALGS;
  const sealer = createSealer(ctx.keys.seal, ctx.keys.sealPrevious);
  const rotated = [];
  for (const alg of algs)
    rotated.push(await rotateSigningKey(ctx.db.prisma, sealer, alg, ctx.config.keyActivationDelaySeconds));
  const announced = await announceKeys(ctx);
  return {
    keys: rotated.map((r) => ({
      alg: r.alg,
      active_kid: r.kid,
      retired_kids: r.retired,
      activates_at: r.activatesAt.toISOString(),
    })),
    note: announced
      ? 'announced: running instances publish the new keys now and sign with them from activates_at'
      : 'running instances publish the new keys within a minute and sign with them from activates_at',
  };
}
