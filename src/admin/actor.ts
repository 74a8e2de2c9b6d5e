// The caller of an admin route as an audit actor (src/audit/actor.ts), and the audit events of admin changes.
import type { Context } from 'koa';

import { eventBy, type Actor } from '../audit/actor.js';
import type { AuditEvent } from '../audit/audit.js';
import type { Allowance } from '../clients/allowances.js';
import { deviceOf } from '../request/device.js';
import type { AdminState } from './auth.js';

export { CLI_ACTOR, eventBy, type Actor } from '../audit/actor.js';

/** The caller of an admin route (after requireAdmin). */
export function actorOf(ctx: Context): Actor {
  const { admin } = ctx.state as AdminState;
  return { via: 'admin_api', adminClientId: admin.clientId, ...deviceOf(ctx) };
}

/** client.resource_allowed (with the scopes now allowed and before) or, when none are left, client.resource_removed. */
export function allowanceEvent(actor: Actor, allowance: Allowance, before: string[]): AuditEvent {
  return allowance.scopes.length
    ? eventBy(actor, 'client.resource_allowed', 'success', {
        resource: allowance.resource,
        scopes: allowance.scopes,
        previous_scopes: before,
      })
    : eventBy(actor, 'client.resource_removed', 'success', { resource: allowance.resource, previous_scopes: before });
}
