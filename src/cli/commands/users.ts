import { parseArgs } from 'node:util';

import { createAccount } from '../../accounts/accounts.js';
import { InvalidRequest } from '../../errors.js';
import type { CliContext } from '../context.js';

/** users create --username U --password-stdin [--email E] */
export async function usersCreate(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({
    args,
    options: { username: { type: 'string' }, 'password-stdin': { type: 'boolean' }, email: { type: 'string' } },
    strict: true,
  });
  if (!values.username) throw new InvalidRequest('--username is required');
  // Passwords come from stdin only: an argument would be visible in `ps` and in shell history.
  if (!values['password-stdin']) throw new InvalidRequest('--password-stdin is required (passwords are never taken as arguments)');
  const password = (await ctx.stdin()).replace(/\r?\n$/, '');
  const account = await createAccount(ctx.db.prisma, { username: values.username, password, email: values.email });
  return { id: account.id, username: account.username, email: account.email };
}
