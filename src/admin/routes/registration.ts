// /admin/registration-tokens: initial access tokens for dynamic client registration (RFC 7591 §3). The token is in
// this response only; it is stored as an HMAC.
import type Router from '@koa/router';
import type { Middleware } from 'koa';

import { createRegistrationToken } from '../../registration/tokens.js';
import type { AdminDeps } from '../deps.js';
import { createRegistrationTokenBody } from '../schemas.js';
import { parseBody } from '../validate.js';

export function registerRegistrationRoutes(router: Router, guard: Middleware, { prisma, hash }: AdminDeps): void {
  router.post('/registration-tokens', guard, async function issueRegistrationToken(ctx) {
    const body = await parseBody(ctx, createRegistrationTokenBody);
    const issued = await createRegistrationToken(prisma, hash, { expiresIn: body.expires_in, maxUses: body.max_uses });
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store'); // the body holds the only copy of the token
    ctx.body = issued;
  });
}
