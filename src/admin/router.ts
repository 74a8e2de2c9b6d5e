// The admin API (README, "Admin API"): one router under /admin, one file per route group, every route behind
// requireAdmin except the OpenAPI document. Paths under /admin that match no route answer 404, and known paths
// asked with another method 405, both as JSON: nothing under /admin falls through to oidc-provider.
import Router from '@koa/router';
import type { Middleware } from 'koa';
import compose from 'koa-compose';

import { MethodNotAllowed, NotFound } from '../errors.js';
import { requireAdmin } from './auth.js';
import type { AdminDeps } from './deps.js';
import { openApiDocument } from './openapi/document.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerClientRoutes } from './routes/clients.js';
import { registerKeyRoutes } from './routes/keys.js';
import { registerRegistrationRoutes } from './routes/registration.js';
import { registerResourceRoutes } from './routes/resources.js';
import { registerSessionRoutes } from './routes/sessions.js';
import { registerUserRoutes } from './routes/users.js';

export function createAdminRouter(deps: AdminDeps): Router {
  const router = new Router({ prefix: '/admin' });
  const guard = requireAdmin(deps);
  registerClientRoutes(router, guard, deps);
  registerKeyRoutes(router, guard, deps);
  registerResourceRoutes(router, guard, deps);
  registerUserRoutes(router, guard, deps);
  registerSessionRoutes(router, guard, deps);
  registerAuditRoutes(router, guard, deps);
  registerRegistrationRoutes(router, guard, deps);
  // Public: it documents the API and holds nothing secret; tools fetch it before they have a token.
  router.get('/openapi.json', function describeApi(ctx) {
    ctx.body = openApiDocument;
  });
  return router;
}

export const isAdminPath = (path: string) => path === '/admin' || path.startsWith('/admin/');

/** Reached only when no admin route matched the path and method. */
function unmatched(): Middleware {
  return async function unmatchedAdminRoute(ctx, next) {
    if (!isAdminPath(ctx.path)) return next();
    // ctx.matched (documented by @koa/router): the routes whose path matched, whatever their method.
    const matched = (ctx as { matched?: { methods: string[] }[] }).matched ?? [];
    const allowed = [...new Set(matched.flatMap((layer) => layer.methods))];
    if (allowed.length === 0) throw new NotFound(`no admin route ${ctx.path}`);
    ctx.set('Allow', allowed.join(', '));
    throw new MethodNotAllowed(`${ctx.method} is not allowed here; allowed: ${allowed.join(', ')}`);
  };
}

/** The admin API as one middleware, for src/app.ts. */
export function createAdminApi(deps: AdminDeps): Middleware {
  const router = createAdminRouter(deps);
  return compose([router.routes() as Middleware, unmatched()]);
}
