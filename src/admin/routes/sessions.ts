// /admin/users/{id}/sessions: a user's devices (one live refresh-token family each), logging out one of them, or
// all of them at once ("logout everywhere": every family revoked and a not-before instant for the account).
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import { NotFound } from '../../errors.js';
import { listSessions, logoutEverywhere, revokeSession, toSessionView } from '../../sessions/sessions.js';
import { findUser, UUID } from '../../sessions/users.js';
import { actorOf } from '../actor.js';
import type { AdminDeps } from '../deps.js';
import { DEFAULT_LIMIT, decodeCursor, toPage } from '../pagination.js';
import { listQuery } from '../schemas.js';
import { parseQuery, pathParam } from '../validate.js';

const sessionCursor = z.tuple([z.iso.datetime(), z.string().regex(UUID)]);

export function registerSessionRoutes(router: Router, guard: Middleware, deps: AdminDeps): void {
  const { prisma } = deps;

  async function userOf(ctx: Context): Promise<string> {
    const user = await findUser(prisma, pathParam(ctx, 'id', UUID, 'user'));
    if (!user) throw new NotFound('no such user');
    return user.id;
  }

  router.get('/users/:id/sessions', guard, async function listUserSessions(ctx) {
    const userId = await userOf(ctx);
    const query = parseQuery(ctx, listQuery);
    const limit = query.limit ?? DEFAULT_LIMIT;
    const key = decodeCursor(query.cursor, sessionCursor);
    const after = key && { createdAt: new Date(key[0]), id: key[1] };
    const rows = await listSessions(prisma, userId, { after, limit: limit + 1 });
    ctx.body = toPage(rows, limit, toSessionView, (f) => [f.createdAt.toISOString(), f.id]);
  });

  router.delete('/users/:id/sessions/:family_id', guard, async function logOutDevice(ctx) {
    const userId = await userOf(ctx);
    const familyId = pathParam(ctx, 'family_id', UUID, 'session');
    await revokeSession(deps, userId, familyId, actorOf(ctx));
    ctx.status = 204;
  });

  router.delete('/users/:id/sessions', guard, async function logOutEverywhere(ctx) {
    const userId = await userOf(ctx);
    await logoutEverywhere(deps, userId, actorOf(ctx));
    ctx.status = 204;
  });
}
