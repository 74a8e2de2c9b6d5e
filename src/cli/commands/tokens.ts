import { parseArgs } from 'node:util';

import { pruneExpired } from '../../families/prune.js';
import type { CliContext } from '../context.js';

/** tokens prune [--batch-size N]: removes dead refresh-token families and expired payloads, in batches. */
export async function tokensPrune(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({ args, options: { 'batch-size': { type: 'string' } }, strict: true });
  const batchSize = values['batch-size'] ? Number(values['batch-size']) : 500;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100_000)
    throw new Error('--batch-size must be an integer 1-100000');
  return { removed: await pruneExpired(ctx.db.prisma, { batchSize }) };
}
