// /admin/keys/rotate: the next signing key for each algorithm (or the one named), published at once by every
// instance and signing after KEY_ACTIVATION_DELAY_SECONDS (src/oidc/key-ring.ts); no restart.
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { z } from 'zod';

import { SIGNING_ALGS } from '../../oidc/keys.js';
import type { AdminDeps } from '../deps.js';
import { parseBody } from '../validate.js';

const rotateKeysBody = z.object({ alg: z.enum(SIGNING_ALGS).optional() }).strict();

export function registerKeyRoutes(router: Router, guard: Middleware, { signingKeys }: AdminDeps): void {
  router.post('/keys/rotate', guard, async function rotateSigningKeys(ctx) {
    // The body is optional: without one (or without `alg`) every algorithm rotates.
    const body = ctx.request.length || ctx.request.type ? await parseBody(ctx, rotateKeysBody) : {};
    const rotations = await signingKeys.rotate(body.alg);
    ctx.body = {
      keys: rotations.map((r) => ({
        alg: r.alg,
        active_kid: r.kid,
        retired_kids: r.retired,
        activates_at: r.activatesAt.toISOString(),
      })),
    };
  });
}
