// Allowances: which API scopes a client may obtain. Nothing is implied: a client gets a scope of an API only when
// it was allowed that scope of that API, explicitly (CLI `clients allow`, admin API PUT
// /admin/clients/{id}/resources/{identifier}). A client "has an allowance" for an API when at least one of its
// scopes is allowed; allowing no scopes removes the allowance.
//
// `allowedScopes(clientId, resource)` is the one lookup every grant makes (client_credentials, the code flow,
// refresh, token exchange). Each instance caches a client's allowances briefly; a change announced on the
// client-change channel (src/clients/client-versions.ts) ends the cached copy at once, and the cache lifetime
// bounds the delay when no announcement can arrive (the embedded default changed from the CLI).
import type { PrismaClient } from '../db/generated/client.js';
import { InvalidRequest, NotFound } from '../errors.js';
import { clientExists } from './client-queries.js';
import { getResourceServer, plausibleIdentifier } from './resource-servers.js';

export interface Allowance {
  client_id: string;
  resource: string;
  scopes: string[];
}

/** Every allowance of a client, by API identifier (uncached). */
export async function allowancesOf(prisma: PrismaClient, clientId: string): Promise<Map<string, string[]>> {
  const rows = await prisma.clientResourceScope.findMany({
    where: { clientId },
    orderBy: [{ resource: 'asc' }, { scope: 'asc' }],
  });
  const byResource = new Map<string, string[]>();
  for (const row of rows) byResource.set(row.resource, [...(byResource.get(row.resource) ?? []), row.scope]);
  return byResource;
}

/**
 * The scopes of `resource` that `clientId` may obtain, read from the database; undefined when it has no allowance
 * for that API. Grants use the cached AllowanceLookup (App.allowances) instead.
 */
export async function allowedScopes(
  prisma: PrismaClient,
  clientId: string,
  resource: string,
): Promise<string[] | undefined> {
  if (typeof clientId !== 'string' || !plausibleIdentifier(resource)) return undefined;
  const rows = await prisma.clientResourceScope.findMany({
    where: { clientId, resource },
    orderBy: { scope: 'asc' },
    select: { scope: true },
  });
  return rows.length ? rows.map((r) => r.scope) : undefined;
}

export async function listAllowances(prisma: PrismaClient, clientId: string): Promise<Allowance[]> {
  if (!(await clientExists(prisma, clientId))) throw new NotFound(`no client ${clientId}`);
  return [...(await allowancesOf(prisma, clientId))].map(([resource, scopes]) => ({
    client_id: clientId,
    resource,
    scopes,
  }));
}

/**
 * Sets which scopes of an API a client may obtain (the complete list: scopes left out are taken away; none removes
 * the allowance). Refused with a message naming them when the API does not define some of the scopes. Returns the
 * allowance and the scopes it had before.
 */
export async function setAllowance(
  prisma: PrismaClient,
  clientId: string,
  resource: string,
  scopes: string[],
): Promise<{ allowance: Allowance; before: string[] }> {
  const wanted = [...new Set(scopes.map((s) => s.trim()).filter(Boolean))].sort();
  if (!(await clientExists(prisma, clientId))) throw new NotFound(`no client ${clientId}`);
  const api = await getResourceServer(prisma, resource);
  if (!api) throw new NotFound(`no API is registered with the identifier ${resource}`);
  const defined = new Set(api.scopes.map((s) => s.name));
  const unknown = wanted.filter((s) => !defined.has(s));
  if (unknown.length) {
    throw new InvalidRequest(
      `the API ${resource} does not define the scope${unknown.length > 1 ? 's' : ''} ${unknown.join(' ')} (it defines: ${[...defined].sort().join(' ') || 'none'}); ` +
        'add them to the API first (PATCH /admin/resources/{identifier}, or CLI resources update)',
    );
  }
  const before = (await allowancesOf(prisma, clientId)).get(resource) ?? [];
  // One statement: the scopes left out are deleted and the new ones inserted together.
  await prisma.$executeRaw`
    WITH gone AS (
      DELETE FROM client_resource_scopes WHERE client_id = ${clientId} AND resource = ${resource} AND NOT (scope = ANY(${wanted}::text[]))
    )
    INSERT INTO client_resource_scopes (client_id, resource, scope)
    SELECT ${clientId}, ${resource}, s FROM unnest(${wanted}::text[]) AS s
    ON CONFLICT DO NOTHING`;
  return { allowance: { client_id: clientId, resource, scopes: wanted }, before };
}

/** Message on the client-change channel meaning "every client" (an API changed, so any allowance may have). */
export const EVERY_CLIENT = '*';

export interface AllowanceLookup {
  /** The scopes of `resource` that `clientId` may obtain; undefined when it has no allowance for that API at all. */
  allowedScopes(clientId: string, resource: string): Promise<string[] | undefined>;
  /** Forgets cached allowances of one client, or of every client (EVERY_CLIENT). */
  invalidate(clientId: string): void;
}

const MAX_CACHED = 10_000;

export function createAllowanceLookup(prisma: PrismaClient, cacheSeconds: number): AllowanceLookup {
  const cacheMs = cacheSeconds * 1000;
  const cache = new Map<string, { value: Map<string, string[]>; until: number }>();
  let changesSeen = 0; // a lookup overtaken by a change does not cache what it read before it

  return {
    async allowedScopes(clientId, resource) {
      if (typeof clientId !== 'string' || !plausibleIdentifier(resource)) return undefined;
      const hit = cacheMs > 0 ? cache.get(clientId) : undefined;
      if (hit && hit.until > Date.now()) return hit.value.get(resource);
      const seen = changesSeen;
      const value = await allowancesOf(prisma, clientId);
      if (cacheMs > 0 && changesSeen === seen) {
        if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
        cache.set(clientId, { value, until: Date.now() + cacheMs });
      }
      return value.get(resource);
    },
    invalidate(clientId) {
      changesSeen += 1;
      if (clientId === EVERY_CLIENT) cache.clear();
      else cache.delete(clientId);
    },
  };
}
