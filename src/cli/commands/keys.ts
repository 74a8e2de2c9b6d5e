import { parseArgs } from 'node:util';

import { createSealer } from '../../crypto/seal.js';
import { InvalidRequest } from '../../errors.js';
import { rotateSigningKey } from '../../oidc/keys.js';
import type { CliContext } from '../context.js';

/** keys rotate [--alg ES256|RS256]: a new active signing key; the old ones stay published until their tokens expire. */
export async function keysRotate(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({ args, options: { alg: { type: 'string' } }, strict: true });
  const alg = values.alg ?? ctx.config.signingKeyAlg;
  if (alg !== 'ES256' && alg !== 'RS256') throw new InvalidRequest('--alg must be ES256 or RS256');
  const rotated = await rotateSigningKey(ctx.db.prisma, createSealer(ctx.keys.seal), alg);
  return { alg, active_kid: rotated.kid, retired_kids: rotated.retired, note: 'restart the server instances to sign with the new key' };
}
