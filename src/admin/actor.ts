// The caller of an admin route as an audit actor (src/audit/actor.ts): the admin client, with its request's device.
import type { Context } from 'koa';

import type { Actor } from '../audit/actor.js';
import { deviceOf } from '../request/device.js';
import type { AdminState } from './auth.js';

export { eventBy, type Actor } from '../audit/actor.js';

/** The caller of an admin route (after requireAdmin). */
export function actorOf(ctx: Context): Actor {
  const { admin } = ctx.state as AdminState;
  return { via: 'admin_api', adminClientId: admin.clientId, ...deviceOf(ctx) };
}
