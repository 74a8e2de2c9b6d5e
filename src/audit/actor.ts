// Who made an administrative change, for the audit trail: an admin client over the API (with the address and user
// agent of its request), an operator at the CLI, or the user themselves (account page, a mailed link). Events written on their behalf carry it in `detail`.
import type { AuditEvent } from './audit.js';

export interface Actor {
  via: 'admin_api' | 'cli' | 'account_page' | 'password_reset' | 'email_link';
  adminClientId?: string;
  ip: string | null;
  userAgent: string | null;
}

export const CLI_ACTOR: Actor = { via: 'cli', ip: null, userAgent: null };

/** An audit event made by `actor`; the subject (account, client, family) is filled in by whoever writes it. */
export function eventBy(
  actor: Actor,
  type: AuditEvent['type'],
  outcome: AuditEvent['outcome'],
  detail: Record<string, unknown> = {},
): AuditEvent {
  const by = { via: actor.via, ...(actor.adminClientId ? { admin_client_id: actor.adminClientId } : {}) };
  return { type, outcome, ip: actor.ip, userAgent: actor.userAgent, detail: { ...detail, ...by } };
}
