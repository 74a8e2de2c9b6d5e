// users create|list|show|update|disable|enable|delete|set-password: the account lifecycle of the admin API
// (src/admin/routes/users.ts), through the same rules (src/accounts/lifecycle.ts), each printing one JSON document.
// Disabling, deleting and setting a password take effect at once on running servers too: they read the account
// row before honouring any token or sign-in (on the embedded database, the CLI reaches it over the server's socket).
import { parseArgs } from 'node:util';
import { z } from 'zod';

import {
  createUser,
  deleteUser,
  disableUser,
  setPassword,
  updateUser,
  type LifecycleDeps,
} from '../../accounts/lifecycle.js';
import { CLI_ACTOR } from '../../admin/actor.js';
import { DEFAULT_LIMIT, decodeCursor, MAX_LIMIT, toPage } from '../../admin/pagination.js';
import { InvalidRequest, NotFound } from '../../errors.js';
import { findUserByUsername, listUsers, toUserView } from '../../sessions/users.js';
import type { CliContext } from '../context.js';
import { verificationHook } from '../../accounts/recovery.js';
import { createMailer } from '../../mail/mailer.js';
import { withSessionDeps } from './sessions.js';

async function userNamed(ctx: CliContext, username: string | undefined) {
  if (!username) throw new InvalidRequest('--username is required');
  const user = await findUserByUsername(ctx.db.prisma, username);
  if (!user) throw new NotFound(`no user ${username}`);
  return user;
}

/** The password from stdin (one trailing newline dropped, as `echo` adds it); never from an argument. */
async function passwordFromStdin(ctx: CliContext, given: boolean | undefined): Promise<string> {
  // An argument would be visible in `ps` and in shell history.
  if (!given) throw new InvalidRequest('--password-stdin is required (passwords are never taken as arguments)');
  return (await ctx.stdin()).replace(/\r?\n$/, '');
}

/** The lifecycle's dependencies; a new email address gets its verification link, mailed as the server would. */
const withLifecycle = <T>(ctx: CliContext, fn: (deps: LifecycleDeps) => Promise<T>) =>
  withSessionDeps(ctx, (deps) => {
    const { logger } = ctx;
    const mailer = createMailer(
      { smtpUrl: ctx.config.mail.smtpUrl, from: ctx.config.mail.from, dataDir: ctx.config.dataDir },
      logger,
    );
    const recovery = {
      ...deps,
      hash: ctx.hash,
      mailer,
      logger,
      issuer: ctx.config.issuer,
      brandName: ctx.config.brand.name,
    };
    return fn({ ...deps, emailChanged: verificationHook(recovery) }).finally(() => mailer.close());
  });

const usernameOnly = (args: string[]) =>
  parseArgs({ args, options: { username: { type: 'string' } }, strict: true }).values.username;

/** users create --username U --password-stdin [--email E] */
export async function usersCreate(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({
    args,
    options: { username: { type: 'string' }, 'password-stdin': { type: 'boolean' }, email: { type: 'string' } },
    strict: true,
  });
  if (!values.username) throw new InvalidRequest('--username is required');
  const password = await passwordFromStdin(ctx, values['password-stdin']);
  const account = await withLifecycle(ctx, (deps) =>
    createUser(deps, { username: values.username!, password, email: values.email }, CLI_ACTOR),
  );
  return { id: account.id, username: account.username, email: account.email };
}

/** users list [--query Q] [--limit N] [--cursor C]: a page, as GET /admin/users answers it. */
export async function usersList(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({
    args,
    options: { query: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
    strict: true,
  });
  const limit = values.limit === undefined ? DEFAULT_LIMIT : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new InvalidRequest(`--limit must be an integer from 1 to ${MAX_LIMIT}`);
  const after = decodeCursor(values.cursor, z.string());
  const rows = await listUsers(ctx.db.prisma, { query: values.query || undefined, after, limit: limit + 1 });
  return toPage(rows, limit, toUserView, (u) => u.username);
}

/** users show --username U */
export async function usersShow(ctx: CliContext, args: string[]) {
  return toUserView(await userNamed(ctx, usernameOnly(args)));
}

/** users update --username U --email E (an empty E removes the address) */
export async function usersUpdate(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({
    args,
    options: { username: { type: 'string' }, email: { type: 'string' } },
    strict: true,
  });
  if (values.email === undefined) throw new InvalidRequest('--email is required');
  const user = await userNamed(ctx, values.username);
  return toUserView(
    await withLifecycle(ctx, (deps) => updateUser(deps, user.id, { email: values.email || null }, CLI_ACTOR)),
  );
}

/** users disable --username U */
export async function usersDisable(ctx: CliContext, args: string[]) {
  const user = await userNamed(ctx, usernameOnly(args));
  return toUserView(
    await withLifecycle(ctx, async (deps) => {
      await disableUser(deps, user.id, CLI_ACTOR);
      return (await findUserByUsername(ctx.db.prisma, user.username))!;
    }),
  );
}

/** users enable --username U */
export async function usersEnable(ctx: CliContext, args: string[]) {
  const user = await userNamed(ctx, usernameOnly(args));
  return toUserView(await withLifecycle(ctx, (deps) => updateUser(deps, user.id, { disabled: false }, CLI_ACTOR)));
}

/** users delete --username U */
export async function usersDelete(ctx: CliContext, args: string[]) {
  const user = await userNamed(ctx, usernameOnly(args));
  await withLifecycle(ctx, (deps) => deleteUser(deps, user.id, CLI_ACTOR));
  return { id: user.id, username: user.username, deleted: true };
}

/** users set-password --username U --password-stdin: the user is signed out everywhere, as over the admin API. */
export async function usersSetPassword(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({
    args,
    options: { username: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
    strict: true,
  });
  const user = await userNamed(ctx, values.username);
  const password = await passwordFromStdin(ctx, values['password-stdin']);
  const revoked = await withLifecycle(ctx, (deps) => setPassword(deps, user.id, password, CLI_ACTOR));
  return { id: user.id, username: user.username, password_changed: true, revoked };
}
