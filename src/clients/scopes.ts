// Which scopes exist: the built-in ones (oidc-provider's static scopes: OpenID Connect's and `admin`), and those
// registered APIs define (src/clients/resource-servers.ts). A client's registration may name only these; a scope
// nobody defines would otherwise be accepted and then fail every request of that client.
import type { PrismaClient } from '../db/generated/client.js';
import { InvalidRequest } from '../errors.js';

export const BUILT_IN_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'admin'] as const;
export const BUILT_IN_SCOPE_SET: ReadonlySet<string> = new Set(BUILT_IN_SCOPES);

/**
 * Refuses, naming them, the scopes of `scope` (space-separated) that are neither built in nor defined by a
 * registered API (nor in `alsoDefined`, scopes about to be defined by the same command).
 */
export async function checkKnownScopes(
  prisma: PrismaClient,
  scope: string,
  alsoDefined: readonly string[] = [],
): Promise<void> {
  const names = [...new Set(scope.split(/\s+/).filter(Boolean))].filter(
    (s) => !BUILT_IN_SCOPE_SET.has(s) && !alsoDefined.includes(s),
  );
  if (names.length === 0) return;
  const rows = await prisma.resourceScope.findMany({
    where: { name: { in: names } },
    select: { name: true },
    distinct: ['name'],
  });
  const defined = new Set(rows.map((r) => r.name));
  const unknown = names.filter((n) => !defined.has(n));
  if (unknown.length === 0) return;
  const many = unknown.length > 1;
  throw new InvalidRequest(
    `unknown scope${many ? 's' : ''} ${unknown.join(' ')}: ${many ? 'they are' : 'it is'} neither built in (${BUILT_IN_SCOPES.join(' ')}) ` +
      `nor defined by a registered API. Define ${many ? 'them' : 'it'} on an API (CLI: clients create --resource-server URI ` +
      `--resource-scopes "${unknown.join(' ')}", or resources update --resource URI --scopes "..."; admin API: PATCH /admin/resources/{identifier}), ` +
      'then let clients obtain API scopes with clients allow',
  );
}
