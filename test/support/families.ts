// Reading refresh-token families straight from the database, for assertions.
import type { TestServer } from './server.js';

export interface FamilyState {
  id: string;
  revoked_at: Date | null;
  revoked_reason: string | null;
  refresh_count: number;
  ip: string | null;
  user_agent: string | null;
  expires_at: Date;
  idle_expires_at: Date;
}

export async function familyOf(server: TestServer, refreshToken: string): Promise<FamilyState> {
  const rows = await server.db.sql.query<FamilyState>(
    `SELECT f.id, f.revoked_at, f.revoked_reason, f.refresh_count, f.ip, f.user_agent, f.expires_at, f.idle_expires_at
       FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id WHERE t.id = $1`,
    [server.hash(refreshToken)],
  );
  if (!rows[0]) throw new Error('no family for that token');
  return rows[0];
}

export async function tokensOf(server: TestServer, familyId: string) {
  return server.db.sql.query<{
    id: string;
    parent_id: string | null;
    generation: number;
    consumed_at: Date | null;
    has_payload: boolean;
  }>(
    'SELECT id, parent_id, generation, consumed_at, payload IS NOT NULL AS has_payload FROM refresh_tokens WHERE family_id = $1 ORDER BY generation',
    [familyId],
  );
}

export async function auditOf(server: TestServer, familyId: string) {
  return server.db.sql.query<{ type: string; outcome: string; detail: Record<string, unknown> }>(
    'SELECT type, outcome, detail FROM audit_events WHERE family_id = $1 ORDER BY id',
    [familyId],
  );
}
