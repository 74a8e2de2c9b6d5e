// Resource servers (RFC 8707 resource indicators). A resource server is a registered client that stands for an
// API: tokens requested for its identifier are RFC 9068 JWTs with it as audience, carrying only its scopes, and
// it may introspect them. Lookups are memoised briefly: the set changes rarely and is read on every such request.
import type { PrismaClient } from '../db/generated/client.js';
import { InvalidRequest, NotFound } from '../errors.js';

export interface ResourceServer {
  clientId: string;
  identifier: string;
  scopes: string;
}

const CACHE_MS = 5_000;

export function createResourceServers(prisma: PrismaClient) {
  const cache = new Map<string, { value: ResourceServer | undefined; at: number }>();

  return {
    async find(identifier: string): Promise<ResourceServer | undefined> {
      // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
      if (typeof identifier !== 'string' || identifier.length > 2048 || /[\x00-\x1f\x7f]/.test(identifier)) return undefined;
      const hit = cache.get(identifier);
      if (hit && Date.now() - hit.at < CACHE_MS) return hit.value;
      const row = await prisma.client.findUnique({ where: { resourceServerUri: identifier } });
      const value = row?.resourceServerUri
        ? { clientId: row.clientId, identifier: row.resourceServerUri, scopes: row.resourceScopes ?? '' }
        : undefined;
      cache.set(identifier, { value, at: Date.now() });
      return value;
    },
    /** The resource server identifier a client stands for, if any. */
    async identifierOf(clientId: string): Promise<string | undefined> {
      const row = await prisma.client.findUnique({ where: { clientId }, select: { resourceServerUri: true } });
      return row?.resourceServerUri ?? undefined;
    },
  };
}

export type ResourceServers = ReturnType<typeof createResourceServers>;

/** Makes an existing client the resource server for `identifier` (an absolute https URI, RFC 8707 §2). */
export async function registerResourceServer(prisma: PrismaClient, clientId: string, identifier: string, scopes: string): Promise<ResourceServer> {
  let url: URL;
  try {
    url = new URL(identifier);
  } catch {
    throw new InvalidRequest('resource server identifier must be an absolute URI');
  }
  if (url.hash || url.search) throw new InvalidRequest('resource server identifier must not contain a query or fragment (RFC 8707 §2)');
  const clean = scopes.trim().split(/\s+/).filter(Boolean).join(' ');
  const row = await prisma.client.findUnique({ where: { clientId } });
  if (!row) throw new NotFound(`no client ${clientId}`);
  await prisma.client.update({ where: { clientId }, data: { resourceServerUri: identifier, resourceScopes: clean, updatedAt: new Date() } });
  return { clientId, identifier, scopes: clean };
}
