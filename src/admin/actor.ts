// Who made an administrative change, for the audit trail: an admin client over the API (with the address and user
// agent of its request), or an operator at the CLI. Events written on their behalf carry it in `detail`.
import type { Context } from 'koa';

import type { AuditEvent } from '../audit/audit.js';
import type { Allowance } from '../clients/allowances.js';
import { deviceOf } from '../http/device.js';
import type { AdminState } from './auth.js';

export interface Actor {
  via: 'admin_api' | 'cli';
  adminClientId?: string;
  ip: string | null;
  userAgent: string | null;
}

export const CLI_ACTOR: Actor = { via: 'cli', ip: null, userAgent: null };

/** The caller of an admin route (after requireAdmin). */
export function actorOf(ctx: Context): Actor {
  const { admin } = ctx.state as AdminState;
  return { via: 'admin_api', adminClientId: admin.clientId, ...deviceOf(ctx) };
}

/** An audit event made by `actor`; the subject (account, client, family) is filled in by whoever writes it. */
export function eventBy(actor: Actor, type: AuditEvent['type'], outcome: AuditEvent['outcome'], detail: Record<string, unknown> = {}): AuditEvent {
  const by = { via: actor.via, ...(actor.adminClientId ? { admin_client_id: actor.adminClientId } : {}) };
  return { type, outcome, ip: actor.ip, userAgent: actor.userAgent, detail: { ...detail, ...by } };
}

/** client.resource_allowed (with the scopes now allowed and before) or, when none are left, client.resource_removed. */
export function allowanceEvent(actor: Actor, allowance: Allowance, before: string[]): AuditEvent {
  return allowance.scopes.length
    ? eventBy(actor, 'client.resource_allowed', 'success', { resource: allowance.resource, scopes: allowance.scopes, previous_scopes: before })
    : eventBy(actor, 'client.resource_removed', 'success', { resource: allowance.resource, previous_scopes: before });
}
