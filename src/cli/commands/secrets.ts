import { parseArgs } from 'node:util';

import { createSealer } from '../../crypto/seal.js';
import { resealStoredKeys } from '../../crypto/stored-keys.js';
import type { CliContext } from '../context.js';

/**
 * secrets reseal: after TOLLGATE_SECRET changed (the old one in TOLLGATE_SECRET_PREVIOUS), seals every stored key
 * (token-hashing key, private signing keys) under the new secret, so that the old one can then be dropped.
 */
export async function secretsReseal(ctx: CliContext, args: string[]) {
  parseArgs({ args, options: {}, strict: true });
  const resealed = await resealStoredKeys(ctx.db.prisma, createSealer(ctx.keys.seal, ctx.keys.sealPrevious));
  return {
    resealed,
    note: 'every stored key is sealed under TOLLGATE_SECRET now; remove the old secret from TOLLGATE_SECRET_PREVIOUS once every instance runs with the new one',
  };
}
