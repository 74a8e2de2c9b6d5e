// Clients written by oidc-provider's registration endpoints (RFC 7591 create, RFC 7592 update and delete), which
// reach the `clients` table through the Client adapter. The secret oidc-provider generated is stored as an HMAC,
// as for every client; the registration is audited in the same statement (client.registered / client.updated).
import type { Audit, AuditEvent } from '../audit/audit.js';
import type { TokenHasher } from '../crypto/token-hash.js';
import type { PrismaClient } from '../db/generated/client.js';
import { deleteClientRow, upsertRegisteredClient } from '../clients/client-queries.js';
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
      // As stored in the row's jsonb (members left undefined dropped), so the log mirror says what the row says.
      const detail = JSON.parse(
        JSON.stringify({
          via: 'registration',
          grant_types: metadata.grant_types ?? [],
          token_endpoint_auth_method: metadata.token_endpoint_auth_method,
        }),
      ) as Record<string, unknown>;
      const event = (type: 'client.registered' | 'client.updated'): AuditEvent => ({
        type,
        outcome: 'success',
        ip,
        userAgent,
        detail,
      });
      const written = await upsertRegisteredClient(
        prisma,
        { clientId, name, secret, secretHash: secret === null ? null : hash(secret), metadata: stored },
        event('client.registered'),
        event('client.updated'),
      );
      if (written) audit.mirror({ ...written, clientId });
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
      if (await deleteClientRow(prisma, clientId, [event])) audit.mirror({ ...event, clientId });
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
