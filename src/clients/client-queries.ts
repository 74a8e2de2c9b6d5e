// Every statement on the `clients` table (docs/architecture.md, "Data access"): registration by the CLI and admin
// API (clients.ts) and by oidc-provider's registration endpoints (registration/registered-clients.ts), the Client
// adapter's lookup, and the names and existence checks other modules ask for. Audited changes write their events in
// the same statement (src/audit/records.ts). The secret arrives here already hashed.
import type { AuditEvent } from '../audit/audit.js';
import { insertAuditRows } from '../audit/records.js';
import { Prisma, type Client, type PrismaClient } from '../db/generated/client.js';

export const findClient = (prisma: PrismaClient, clientId: string): Promise<Client | null> =>
  prisma.client.findUnique({ where: { clientId } });

export async function clientExists(prisma: PrismaClient, clientId: string): Promise<boolean> {
  return (await prisma.client.findUnique({ where: { clientId }, select: { clientId: true } })) !== null;
}

/** The display name of each of these clients that exists. */
export async function findClientNames(prisma: PrismaClient, clientIds: string[]): Promise<Map<string, string>> {
  const rows = await prisma.client.findMany({
    where: { clientId: { in: [...new Set(clientIds)] } },
    select: { clientId: true, name: true },
  });
  return new Map(rows.map((r) => [r.clientId, r.name]));
}

/** Clients in client_id order, starting after `after` (a keyset page). */
export const listClientRows = (prisma: PrismaClient, { after, limit }: { after?: string | undefined; limit: number }) =>
  prisma.client.findMany({
    where: after ? { clientId: { gt: after } } : {},
    orderBy: { clientId: 'asc' },
    take: limit,
  });

/** Inserts a client; `events` (e.g. client.created) are written by the same statement, with its client_id. */
export async function insertClient(
  prisma: PrismaClient,
  row: { clientId: string; name: string; secretHash: string | null; metadata: object; isAdmin: boolean },
  events: AuditEvent[],
): Promise<void> {
  await prisma.$executeRaw`
    WITH c AS (
      INSERT INTO clients (client_id, name, secret_hash, metadata, is_admin)
      VALUES (${row.clientId}, ${row.name}, ${row.secretHash}, ${JSON.stringify(row.metadata)}::jsonb, ${row.isAdmin})
      RETURNING client_id
    )
    ${insertAuditRows('c', { clientId: Prisma.sql`c.client_id` }, events)}`;
}

/**
 * Replaces the secret of a client that has one, writing `events` (client.secret_rotated) in the same statement.
 * False for an unknown client and for a public one.
 */
export async function replaceClientSecret(
  prisma: PrismaClient,
  clientId: string,
  secretHash: string,
  events: AuditEvent[],
): Promise<boolean> {
  const rotated = await prisma.$queryRaw<{ client_id: string }[]>`
    WITH c AS (
      UPDATE clients SET secret_hash = ${secretHash}, updated_at = now()
       WHERE client_id = ${clientId} AND secret_hash IS NOT NULL
      RETURNING client_id
    ), audited AS (
      ${insertAuditRows('c', { clientId: Prisma.sql`c.client_id` }, events)}
    )
    SELECT client_id FROM c`;
  return rotated.length > 0;
}

/** Sets a client's name and metadata; false for an unknown client. */
export async function updateClientRow(
  prisma: PrismaClient,
  clientId: string,
  data: { name: string; metadata: Prisma.InputJsonObject },
): Promise<boolean> {
  const { count } = await prisma.client.updateMany({
    where: { clientId },
    data: { name: data.name, metadata: data.metadata, updatedAt: new Date() },
  });
  return count > 0;
}

/** Removes a client, writing `events` in the same statement; false when there was none. */
export async function deleteClientRow(
  prisma: PrismaClient,
  clientId: string,
  events: AuditEvent[] = [],
): Promise<boolean> {
  const rows = await prisma.$queryRaw<{ client_id: string }[]>`
    WITH c AS (DELETE FROM clients WHERE client_id = ${clientId} RETURNING client_id),
    audited AS (${insertAuditRows('c', { clientId: Prisma.sql`c.client_id` }, events)})
    SELECT client_id FROM c`;
  return rows.length > 0;
}

/**
 * Inserts a client registered through RFC 7591, or updates it (RFC 7592), with its event in the same statement:
 * `registered` when the row is new, `updated` otherwise. On update oidc-provider passes back the stored secret,
 * which is already the HMAC: kept as it is (`secret`, the value presented; `secretHash`, its HMAC). Returns the
 * event written.
 */
export async function upsertRegisteredClient(
  prisma: PrismaClient,
  row: { clientId: string; name: string; secret: string | null; secretHash: string | null; metadata: object },
  registered: AuditEvent,
  updated: AuditEvent,
): Promise<AuditEvent | undefined> {
  const written = await prisma.$queryRaw<{ type: string }[]>`
    WITH c AS (
      INSERT INTO clients (client_id, name, secret_hash, metadata, is_admin)
      VALUES (${row.clientId}, ${row.name}, ${row.secretHash}, ${JSON.stringify(row.metadata)}::jsonb, false)
      ON CONFLICT (client_id) DO UPDATE SET
        name = EXCLUDED.name,
        metadata = EXCLUDED.metadata,
        secret_hash = CASE WHEN ${row.secret}::text IS NULL THEN NULL
                           WHEN clients.secret_hash = ${row.secret}::text THEN clients.secret_hash
                           ELSE EXCLUDED.secret_hash END,
        updated_at = now()
      RETURNING client_id, (xmax = 0) AS inserted
    )
    ${insertAuditRows('c', { clientId: Prisma.sql`c.client_id` }, [registered, updated], Prisma.sql`(e.type = ${registered.type}) = c.inserted`)}
    RETURNING type`;
  return [registered, updated].find((e) => e.type === written[0]?.type);
}
