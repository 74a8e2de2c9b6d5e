// What an audit event is: its type, outcome and subjects. Apart from the trail (audit.ts) and its table's
// statements (records.ts), so that both can name it.
export type AuditType =
  | 'login.succeeded'
  | 'login.failed'
  | 'consent.granted'
  | 'refresh_token.rotated'
  | 'refresh_token.reuse_detected'
  | 'refresh_token.family_revoked'
  | 'refresh_token.velocity_exceeded'
  | 'refresh_token.anomaly'
  | 'session.revoked'
  | 'user.logged_out_everywhere'
  | 'token.exchanged'
  | 'backchannel_logout.delivered'
  | 'backchannel_logout.failed'
  | 'client.created'
  | 'client.registered'
  | 'client.updated'
  | 'client.deleted'
  | 'client.secret_rotated'
  | 'client.resource_allowed'
  | 'client.resource_removed'
  | 'resource_server.updated'
  | 'resource_server.deleted'
  | 'user.created'
  | 'user.updated'
  | 'user.disabled'
  | 'user.enabled'
  | 'user.deleted'
  | 'user.password_changed'
  | 'user.password_reset_requested'
  | 'user.email_verified'
  | 'consent.withdrawn';

export interface AuditEvent {
  type: AuditType;
  outcome: 'success' | 'failure' | 'revoked' | 'refused';
  accountId?: string | null;
  clientId?: string | null;
  familyId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  detail?: Record<string, unknown>;
}
