// /admin/users: finding accounts (by exact username, or by part of the username or email), creating them, reading,
// changing (email, disabled), deleting, and setting a password. The rules live in src/accounts/lifecycle.ts,
// shared with the CLI.
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import { createUser, deleteUser, setPassword, updateUser, type LifecycleDeps } from '../../accounts/lifecycle.js';
import { NotFound } from '../../errors.js';
import { findUser, listUsers, toUserView, UUID } from '../../sessions/users.js';
import { actorOf } from '../actor.js';
import type { AdminDeps } from '../deps.js';
import { DEFAULT_LIMIT, decodeCursor, toPage } from '../pagination.js';
import { createUserBody, setPasswordBody, updateUserBody, usersQuery } from '../schemas.js';
import { parseBody, parseQuery, pathParam } from '../validate.js';

export function registerUserRoutes(router: Router, guard: Middleware, deps: AdminDeps): void {
  const { prisma } = deps;
  const lifecycle: LifecycleDeps = deps;
  const idOf = (ctx: Context) => pathParam(ctx, 'id', UUID, 'user');

  router.get('/users', guard, async function findUsers(ctx) {
    const query = parseQuery(ctx, usersQuery);
    const limit = query.limit ?? DEFAULT_LIMIT;
    const after = decodeCursor(query.cursor, z.string());
    const rows = await listUsers(prisma, { username: query.username, query: query.query, after, limit: limit + 1 });
    ctx.body = toPage(rows, limit, toUserView, (u) => u.username);
  });

  router.post('/users', guard, async function createUserRoute(ctx) {
    const body = await parseBody(ctx, createUserBody);
    const account = await createUser(lifecycle, body, actorOf(ctx));
    ctx.status = 201;
    ctx.set('Location', `/admin/users/${account.id}`);
    ctx.body = toUserView(account);
  });

  router.get('/users/:id', guard, async function readUser(ctx) {
    const account = await findUser(prisma, idOf(ctx));
    if (!account) throw new NotFound('no such user');
    ctx.body = toUserView(account);
  });

  router.patch('/users/:id', guard, async function changeUser(ctx) {
    const id = idOf(ctx);
    const body = await parseBody(ctx, updateUserBody);
    ctx.body = toUserView(await updateUser(lifecycle, id, body, actorOf(ctx)));
  });

  router.delete('/users/:id', guard, async function removeUser(ctx) {
    await deleteUser(lifecycle, idOf(ctx), actorOf(ctx));
    ctx.status = 204;
  });

  router.post('/users/:id/password', guard, async function setUserPassword(ctx) {
    const id = idOf(ctx);
    const { password } = await parseBody(ctx, setPasswordBody);
    await setPassword(lifecycle, id, password, actorOf(ctx));
    ctx.status = 204;
  });
}
