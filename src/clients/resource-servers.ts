// APIs (resource servers, RFC 8707 resource indicators). An API has an identifier (an absolute URI without query
// or fragment), a display name and the scopes it defines, each with an optional description shown on the consent
// page. Tokens requested for it are RFC 9068 JWTs with it as audience. It may be stood for by a registered client,
// which may introspect those tokens; deleting that client deletes the API. Which client may obtain which of its
// scopes is src/clients/allowances.ts's business.
import type { PrismaClient } from '../db/generated/client.js';
import { InvalidRequest, NotFound } from '../errors.js';
import { findClient } from './client-queries.js';
import { BUILT_IN_SCOPE_SET } from './scopes.js';

export interface ApiScope {
  name: string;
  description?: string | undefined;
}

export interface ResourceServer {
  identifier: string;
  name: string;
  /** The client standing for the API, if any. */
  clientId: string | undefined;
  scopes: ApiScope[];
}

/** The JSON shape of an API (CLI and admin API). */
export interface ResourceServerView {
  identifier: string;
  name: string;
  client_id: string | null;
  scopes: { name: string; description: string | null }[];
}

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 §3.3 scope-token
const MAX_IDENTIFIER = 2048;

/** True for a string that could name a resource at all; anything else is never looked up. */
export const plausibleIdentifier = (identifier: unknown): identifier is string =>
  typeof identifier === 'string' &&
  identifier.length > 0 &&
  identifier.length <= MAX_IDENTIFIER &&
  !/[\x00-\x1f\x7f]/.test(identifier);

/** An API identifier: an absolute URI without query or fragment (RFC 8707 §2). */
export function checkIdentifier(identifier: string): string {
  let url: URL;
  try {
    url = new URL(identifier);
  } catch {
    throw new InvalidRequest(`API identifier ${JSON.stringify(identifier)} must be an absolute URI`);
  }
  if (url.hash || url.search || identifier.includes('#') || identifier.includes('?')) {
    throw new InvalidRequest('API identifier must not contain a query or fragment (RFC 8707 §2)');
  }
  if (!plausibleIdentifier(identifier))
    throw new InvalidRequest(`API identifier must be at most ${MAX_IDENTIFIER} characters`);
  return identifier;
}

/** Scopes given as "a b" or as a list of names or {name, description}; each a valid, distinct scope token. */
export function checkScopes(scopes: string | (string | ApiScope)[]): ApiScope[] {
  const list = typeof scopes === 'string' ? scopes.trim().split(/\s+/).filter(Boolean) : scopes;
  const seen = new Map<string, ApiScope>();
  for (const item of list) {
    const scope = typeof item === 'string' ? { name: item } : item;
    if (!SCOPE_TOKEN.test(scope.name) || scope.name.length > 200)
      throw new InvalidRequest(`scope ${JSON.stringify(scope.name)} is malformed`);
    // A built-in scope on an API would let an allowance confer it (think `admin`).
    if (BUILT_IN_SCOPE_SET.has(scope.name))
      throw new InvalidRequest(`scope ${scope.name} is built in; an API cannot define it`);
    if (scope.description !== undefined && scope.description.length > 500)
      throw new InvalidRequest(`the description of scope ${scope.name} is longer than 500 characters`);
    seen.set(scope.name, { name: scope.name, ...(scope.description ? { description: scope.description } : {}) });
  }
  return [...seen.values()];
}

export function toResourceServerView(server: ResourceServer): ResourceServerView {
  return {
    identifier: server.identifier,
    name: server.name,
    client_id: server.clientId ?? null,
    scopes: server.scopes.map((s) => ({ name: s.name, description: s.description ?? null })),
  };
}

type Row = {
  identifier: string;
  name: string;
  clientId: string | null;
  scopes: { name: string; description: string | null }[];
};
const scopeRecords = (scopes: ApiScope[]) =>
  JSON.stringify(scopes.map((s) => ({ name: s.name, description: s.description ?? null })));
const include = { scopes: { orderBy: { name: 'asc' as const } } };
const fromRow = (row: Row): ResourceServer => ({
  identifier: row.identifier,
  name: row.name,
  clientId: row.clientId ?? undefined,
  scopes: row.scopes.map((s) => ({ name: s.name, ...(s.description ? { description: s.description } : {}) })),
});

/** The API named by `identifier`, read from the database (uncached). */
export async function getResourceServer(prisma: PrismaClient, identifier: string): Promise<ResourceServer | undefined> {
  if (!plausibleIdentifier(identifier)) return undefined;
  const row = await prisma.resourceServer.findUnique({ where: { identifier }, include });
  return row ? fromRow(row) : undefined;
}

export async function listResourceServers(
  prisma: PrismaClient,
  { after, limit }: { after?: string | undefined; limit: number },
): Promise<ResourceServer[]> {
  const rows = await prisma.resourceServer.findMany({
    where: after ? { identifier: { gt: after } } : {},
    orderBy: { identifier: 'asc' },
    take: limit,
    include,
  });
  return rows.map(fromRow);
}

/** The API a client stands for, if any. */
export async function resourceServerOf(prisma: PrismaClient, clientId: string): Promise<string | undefined> {
  const row = await prisma.resourceServer.findUnique({ where: { clientId }, select: { identifier: true } });
  return row?.identifier;
}

/**
 * Registers an API, stood for by `clientId` when given (that client may introspect its tokens). Refused when the
 * identifier is taken or the client already stands for an API.
 */
export async function registerResourceServer(
  prisma: PrismaClient,
  clientId: string | undefined,
  identifier: string,
  scopes: string | (string | ApiScope)[],
  name?: string,
): Promise<ResourceServer> {
  checkIdentifier(identifier);
  const defined = checkScopes(scopes);
  let displayName = name?.trim();
  if (clientId) {
    const client = await findClient(prisma, clientId);
    if (!client) throw new NotFound(`no client ${clientId}`);
    displayName ||= client.name;
  }
  if (!displayName || displayName.length > 200) throw new InvalidRequest('an API needs a name of 1-200 characters');
  if (await prisma.resourceServer.findUnique({ where: { identifier }, select: { identifier: true } })) {
    throw new InvalidRequest(`an API with the identifier ${identifier} is already registered`);
  }
  if (clientId && (await resourceServerOf(prisma, clientId)))
    throw new InvalidRequest(`client ${clientId} already stands for an API`);
  // One statement, not a Prisma nested write (a transaction): see src/audit/records.ts on the embedded socket.
  await prisma.$executeRaw`
    WITH srv AS (
      INSERT INTO resource_servers (identifier, name, client_id) VALUES (${identifier}, ${displayName}, ${clientId ?? null})
      RETURNING identifier
    )
    INSERT INTO resource_scopes (resource, name, description)
    SELECT srv.identifier, s.name, s.description FROM srv, jsonb_to_recordset(${scopeRecords(defined)}::jsonb) AS s(name text, description text)`;
  return { identifier, name: displayName, clientId, scopes: defined };
}

export interface ResourceServerPatch {
  name?: string | undefined;
  /** The complete new list: scopes left out are removed, with every client's allowance of them. */
  scopes?: (string | ApiScope)[] | undefined;
}

/**
 * Changes an API's name or scopes (and descriptions). A scope removed here is removed from every allowance (the
 * foreign key cascades): clients stop obtaining it. Undefined for an unknown API.
 */
export async function updateResourceServer(
  prisma: PrismaClient,
  identifier: string,
  patch: ResourceServerPatch,
): Promise<{ server: ResourceServer; removedScopes: string[] } | undefined> {
  const current = await getResourceServer(prisma, identifier);
  if (!current) return undefined;
  const name = patch.name?.trim();
  if (patch.name !== undefined && (!name || name.length > 200))
    throw new InvalidRequest('an API needs a name of 1-200 characters');
  const scopes = patch.scopes ? checkScopes(patch.scopes) : current.scopes;
  const keep = new Set(scopes.map((s) => s.name));
  const removedScopes = current.scopes.map((s) => s.name).filter((s) => !keep.has(s));
  // One statement: removed scopes go (their allowances with them, by the foreign key), the others are upserted.
  await prisma.$executeRaw`
    WITH s AS (
      SELECT * FROM jsonb_to_recordset(${scopeRecords(scopes)}::jsonb) AS x(name text, description text)
    ), srv AS (
      UPDATE resource_servers SET name = coalesce(${name ?? null}, name), updated_at = now() WHERE identifier = ${identifier}
      RETURNING identifier
    ), gone AS (
      DELETE FROM resource_scopes r USING srv WHERE r.resource = srv.identifier AND r.name NOT IN (SELECT name FROM s)
    )
    INSERT INTO resource_scopes (resource, name, description)
    SELECT srv.identifier, s.name, s.description FROM srv, s
    ON CONFLICT (resource, name) DO UPDATE SET description = EXCLUDED.description`;
  return { server: { ...current, name: name ?? current.name, scopes }, removedScopes };
}

/** Removes an API with every allowance of it; false when there was none. */
export async function deleteResourceServer(prisma: PrismaClient, identifier: string): Promise<boolean> {
  if (!plausibleIdentifier(identifier)) return false;
  const { count } = await prisma.resourceServer.deleteMany({ where: { identifier } });
  return count > 0;
}

export interface ResourceServerLookup {
  /** The API named by `identifier` (cached briefly; changes announced on the client-change channel end the copy). */
  find(identifier: string): Promise<ResourceServer | undefined>;
  /** The API a client stands for, if any (cached as `find` is, and ended by the same announcements). */
  identifierOf(clientId: string): Promise<string | undefined>;
  /** Forgets every cached API (any client change may have deleted one, through its client). */
  invalidate(): void;
}

export function createResourceServerLookup(prisma: PrismaClient, cacheSeconds: number): ResourceServerLookup {
  const cacheMs = cacheSeconds * 1000;
  const cache = new Map<string, { value: ResourceServer | undefined; until: number }>();
  const standsFor = new Map<string, { value: string | undefined; until: number }>();
  let changesSeen = 0;
  return {
    async find(identifier) {
      if (!plausibleIdentifier(identifier)) return undefined;
      const hit = cacheMs > 0 ? cache.get(identifier) : undefined;
      if (hit && hit.until > Date.now()) return hit.value;
      const seen = changesSeen;
      const value = await getResourceServer(prisma, identifier);
      if (cacheMs > 0 && changesSeen === seen) {
        if (cache.size >= 1000) cache.delete(cache.keys().next().value!);
        cache.set(identifier, { value, until: Date.now() + cacheMs });
      }
      return value;
    },
    // Cached like find: a resource server introspecting a JWT meant for it then costs no PostgreSQL round trip.
    async identifierOf(clientId) {
      const hit = cacheMs > 0 ? standsFor.get(clientId) : undefined;
      if (hit && hit.until > Date.now()) return hit.value;
      const seen = changesSeen;
      const value = await resourceServerOf(prisma, clientId);
      if (cacheMs > 0 && changesSeen === seen) {
        if (standsFor.size >= 1000) standsFor.delete(standsFor.keys().next().value!);
        standsFor.set(clientId, { value, until: Date.now() + cacheMs });
      }
      return value;
    },
    invalidate() {
      changesSeen += 1;
      cache.clear();
      standsFor.clear();
    },
  };
}
