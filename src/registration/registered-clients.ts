// Clients written by oidc-provider's registration endpoints (RFC 7591 create, RFC 7592 update and delete), which
// reach the `clients` table through the Client adapter. The secret oidc-provider generated is stored as an HMAC,
// as for every client; the registration is audited in the same statement (client.registered / client.updated).
import type { Audit, AuditEvent } from '../audit/audit.js';
import { insertAuditRows } from '../audit/records.js';
import type { TokenHasher } from '../crypto/token-hash.js';
import { Prisma, type PrismaClient } from '../db/generated/client.js';
import type { Families } from '../families/families.js';
import { deviceOf } from '../request/device.js';
import { currentRequest } from '../request/context.js';

type Metadata = Record<string, unknown>;

export interface RegisteredClientDeps {
  prisma: PrismaClient;
  hash: TokenHasher;
  families: Families;
  audit: Audit;
}

// Held by the row's own columns (or not at all), never in the metadata column.
const NOT_METADATA = new Set(['client_id', 'client_secret']);

export interface RegisteredClients {
  save(clientId: string, metadata: Metadata): Promise<void>;
  remove(clientId: string): Promise<void>;
}

export function createRegisteredClients({ prisma, hash, families, audit }: RegisteredClientDeps): RegisteredClients {
  return {
    /**
     * Insert (registration) or update (RFC 7592). On update oidc-provider passes back the stored secret, which is
     * already the HMAC: kept as it is. A new secret (a client that now needs one) is hashed.
     */
    async save(clientId, metadata) {
      const secret = typeof metadata.client_secret === 'string' ? metadata.client_secret : null;
      const stored = Object.fromEntries(Object.entries(metadata).filter(([k]) => !NOT_METADATA.has(k)));
      const name =
        typeof metadata.client_name === 'string' && metadata.client_name.trim()
          ? metadata.client_name.trim().slice(0, 200)
          : clientId;
      const { ip, userAgent } = deviceOf(currentRequest());
      const detail = JSON.parse(
        JSON.stringify({
          via: 'registration',
          grant_types: metadata.grant_types ?? [],
          token_endpoint_auth_method: metadata.token_endpoint_auth_method,
        }),
      ) as Record<string, unknown>;
      // Both events go in; the row's `inserted` keeps the one that happened.
      const events: AuditEvent[] = (['client.registered', 'client.updated'] as const).map((type) => ({
        type,
        outcome: 'success',
        ip,
        userAgent,
        detail,
      }));
      const inserted = await prisma.$queryRaw<{ type: 'client.registered' | 'client.updated' }[]>`
        WITH c AS (
          INSERT INTO clients (client_id, name, secret_hash, metadata, is_admin)
          VALUES (${clientId}, ${name}, ${secret === null ? null : hash(secret)}, ${JSON.stringify(stored)}::jsonb, false)
          ON CONFLICT (client_id) DO UPDATE SET
            name = EXCLUDED.name,
            metadata = EXCLUDED.metadata,
            secret_hash = CASE WHEN ${secret}::text IS NULL THEN NULL
                               WHEN clients.secret_hash = ${secret}::text THEN clients.secret_hash
                               ELSE EXCLUDED.secret_hash END,
            updated_at = now()
          RETURNING client_id, (xmax = 0) AS inserted
        )
        ${insertAuditRows('c', { clientId: Prisma.sql`c.client_id` }, events, Prisma.sql`(e.type = 'client.registered') = c.inserted`)}
        RETURNING type`;
      for (const { type } of inserted) audit.mirror({ type, outcome: 'success', clientId, ip, userAgent, detail });
    },

    /** RFC 7592 §2.3: the client is gone, and so are the sessions (refresh-token families) it held. */
    async remove(clientId) {
      const { ip, userAgent } = deviceOf(currentRequest());
      const event: AuditEvent = {
        type: 'client.deleted',
        outcome: 'success',
        ip,
        userAgent,
        detail: { via: 'registration' },
      };
      const deleted = await prisma.$executeRaw`
        WITH c AS (DELETE FROM clients WHERE client_id = ${clientId} RETURNING client_id)
        ${insertAuditRows('c', { clientId: Prisma.sql`c.client_id` }, [event])}`;
      if (deleted) audit.mirror({ ...event, clientId });
      await families.revokeWhere({ clientId }, 'client_deleted', [
        {
          type: 'refresh_token.family_revoked',
          outcome: 'revoked',
          ip,
          userAgent,
          detail: { reason: 'client_deleted', via: 'registration' },
        },
      ]);
    },
  };
}
