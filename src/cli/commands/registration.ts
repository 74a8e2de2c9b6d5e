import { parseArgs } from 'node:util';

import { InvalidRequest } from '../../errors.js';
import { createRegistrationToken } from '../../registration/tokens.js';
import type { CliContext } from '../context.js';

const integer = (name: string, value: string | undefined) => {
  if (value === undefined) return undefined;
  if (!/^\d{1,10}$/.test(value)) throw new InvalidRequest(`--${name} must be a positive integer`);
  return Number(value);
};

/**
 * registration token create [--expires-in S] [--max-uses N]: an initial access token for dynamic client
 * registration (RFC 7591 §3), printed once and stored as an HMAC. Defaults: a day, one registration.
 */
export async function registrationTokenCreate(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({
    args,
    options: { 'expires-in': { type: 'string' }, 'max-uses': { type: 'string' } },
    strict: true,
  });
  return createRegistrationToken(ctx.db.prisma, ctx.hash, {
    expiresIn: integer('expires-in', values['expires-in']),
    maxUses: integer('max-uses', values['max-uses']),
  });
}
