// /admin/users: finding the account behind a username (or paging through all of them), to reach its sessions.
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';

import { listUsers, toUserView } from '../../sessions/users.js';
import type { AdminDeps } from '../deps.js';
import { DEFAULT_LIMIT, decodeCursor, toPage } from '../pagination.js';
import { usersQuery } from '../schemas.js';
import { parseQuery } from '../validate.js';

export function registerUserRoutes(router: Router, guard: Middleware, { prisma }: AdminDeps): void {
  router.get('/users', guard, async function findUsers(ctx) {
    const query = parseQuery(ctx, usersQuery);
    const limit = query.limit ?? DEFAULT_LIMIT;
    const rows = await listUsers(prisma, { username: query.username, after: decodeCursor(query.cursor, z.string()), limit: limit + 1 });
    ctx.body = toPage(rows, limit, toUserView, (u) => u.username);
  });
}
