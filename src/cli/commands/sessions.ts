// sessions list --username U            the user's live sessions (refresh-token families), newest first
// sessions revoke --username U --family F   log out one device
// sessions revoke --username U --all        log out everywhere (same semantics as DELETE /admin/users/{id}/sessions)
//
// The CLI is another process than the server. With REDIS_URL it opens the same short-lived store, so revoking also
// drops the access tokens issued from the families, exactly as the admin API does. In embedded mode the store is the
// server's in-process memory, out of this process's reach, so the CLI does the database part only: families
// revoked (their refresh tokens refused at once), not_before set (with --all: every earlier access token inactive
// at introspection), audit events written. An access token of one device revoked with --family then stays
// usable until it expires (ACCESS_TOKEN_TTL_SECONDS). That is the accepted limit of the embedded mode.
import { parseArgs } from 'node:util';

import { CLI_ACTOR } from '../../audit/actor.js';
import { InvalidRequest, NotFound } from '../../errors.js';
import {
  listSessions,
  logoutEverywhere,
  revokeSession,
  toSessionView,
  type SessionDeps,
  type SessionKey,
  type SessionView,
} from '../../sessions/sessions.js';
import { findUserByUsername, UUID } from '../../sessions/users.js';
import { createFamilies } from '../../services.js';
import { openStore } from '../../store/index.js';
import type { CliContext } from '../context.js';

const PAGE = 500;

async function userNamed(ctx: CliContext, username: string | undefined) {
  if (!username) throw new InvalidRequest('--username is required');
  const user = await findUserByUsername(ctx.db.prisma, username);
  if (!user) throw new NotFound(`no user ${username}`);
  return user;
}

/** Runs `fn` with what revoking needs; audit events are mirrored to stderr as JSON log lines (stdout is the result). */
export async function withSessionDeps<T>(ctx: CliContext, fn: (deps: SessionDeps) => Promise<T>): Promise<T> {
  const { config, db, hash } = ctx;
  const store = await openStore(config);
  try {
    const { audit } = ctx;
    const families = createFamilies({ config, db, store, hash, audit });
    return await fn({ prisma: db.prisma, families, audit });
  } finally {
    await store.close();
  }
}

/** sessions list --username U: a JSON array of the user's live sessions, as in the admin API. */
export async function sessionsList(ctx: CliContext, args: string[]): Promise<SessionView[]> {
  const { values } = parseArgs({ args, options: { username: { type: 'string' } }, strict: true });
  const user = await userNamed(ctx, values.username);
  const sessions: SessionView[] = [];
  let after: SessionKey | undefined;
  for (;;) {
    const rows = await listSessions(ctx.db.prisma, user.id, { after, limit: PAGE });
    sessions.push(...rows.map(toSessionView));
    const last = rows.at(-1);
    if (!last || rows.length < PAGE) return sessions;
    after = { createdAt: last.createdAt, id: last.id };
  }
}

/** sessions revoke --username U (--family F | --all) */
export async function sessionsRevoke(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({
    args,
    options: { username: { type: 'string' }, family: { type: 'string' }, all: { type: 'boolean' } },
    strict: true,
  });
  if (Boolean(values.family) === Boolean(values.all))
    throw new InvalidRequest('give exactly one of --family F or --all');
  const user = await userNamed(ctx, values.username);
  if (values.all) {
    const { notBefore, revoked } = await withSessionDeps(ctx, (deps) => logoutEverywhere(deps, user.id, CLI_ACTOR));
    return { user_id: user.id, revoked, not_before: notBefore.toISOString() };
  }
  const familyId = values.family!;
  if (!UUID.test(familyId)) throw new NotFound('this user has no live session with that id');
  await withSessionDeps(ctx, (deps) => revokeSession(deps, user.id, familyId, CLI_ACTOR));
  return { user_id: user.id, revoked: [familyId] };
}
