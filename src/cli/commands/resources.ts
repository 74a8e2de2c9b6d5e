// APIs (resource servers) from the CLI: register one without a client, list them, change name, scopes and their
// descriptions, remove one. Every change is announced like a client change, so running instances see it at once
// with a shared store (embedded: within CLIENT_CACHE_SECONDS).
import { parseArgs } from 'node:util';

import { CLI_ACTOR, eventBy } from '../../admin/actor.js';
import { EVERY_CLIENT } from '../../clients/allowances.js';
import {
  deleteResourceServer,
  getResourceServer,
  listResourceServers,
  registerResourceServer,
  toResourceServerView,
  updateResourceServer,
  type ApiScope,
} from '../../clients/resource-servers.js';
import { InvalidRequest, NotFound } from '../../errors.js';
import type { CliContext } from '../context.js';
import { announceClientChange } from './clients.js';

/** --describe "scope=text" (repeatable): descriptions by scope name. */
function descriptions(values: string[] | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const item of values ?? []) {
    const at = item.indexOf('=');
    if (at < 1) throw new InvalidRequest(`--describe takes scope=description, not ${JSON.stringify(item)}`);
    map.set(item.slice(0, at), item.slice(at + 1));
  }
  return map;
}

function withDescriptions(names: string[], current: ApiScope[], described: Map<string, string>): ApiScope[] {
  for (const name of described.keys())
    if (!names.includes(name))
      throw new InvalidRequest(`--describe names ${name}, which is not among the API's scopes`);
  const old = new Map(current.map((s) => [s.name, s.description]));
  return names.map((name) => ({ name, description: described.get(name) ?? old.get(name) }));
}

const options = {
  resource: { type: 'string' },
  name: { type: 'string' },
  scopes: { type: 'string' },
  describe: { type: 'string', multiple: true },
} as const;

/** resources create --resource URI --name N --scopes "a b" [--describe "a=text"]...: an API no client stands for. */
export async function resourcesCreate(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({ args, options, strict: true });
  if (!values.resource) throw new InvalidRequest('--resource is required (the API identifier, an absolute URI)');
  const names = (values.scopes ?? '').split(/\s+/).filter(Boolean);
  const server = await registerResourceServer(
    ctx.db.prisma,
    undefined,
    values.resource,
    withDescriptions(names, [], descriptions(values.describe)),
    values.name,
  );
  return toResourceServerView(server);
}

/** resources list: every API with its scopes. */
export async function resourcesList(ctx: CliContext) {
  return { items: (await listResourceServers(ctx.db.prisma, { limit: 1000 })).map(toResourceServerView) };
}

/**
 * resources update --resource URI [--name N] [--scopes "a b"] [--describe "a=text"]...: --scopes is the complete
 * new list (scopes left out are removed, with every client's allowance of them).
 */
export async function resourcesUpdate(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({ args, options, strict: true });
  if (!values.resource) throw new InvalidRequest('--resource is required (the API identifier)');
  if (values.name === undefined && values.scopes === undefined && !values.describe)
    throw new InvalidRequest('nothing to change: give --name, --scopes or --describe');
  const current = await getResourceServer(ctx.db.prisma, values.resource);
  if (!current) throw new NotFound(`no API is registered with the identifier ${values.resource}`);
  const names =
    values.scopes !== undefined ? values.scopes.split(/\s+/).filter(Boolean) : current.scopes.map((s) => s.name);
  const updated = await updateResourceServer(ctx.db.prisma, values.resource, {
    name: values.name,
    scopes: withDescriptions(names, current.scopes, descriptions(values.describe)),
  });
  if (!updated) throw new NotFound(`no API is registered with the identifier ${values.resource}`);
  await announceClientChange(ctx, EVERY_CLIENT);
  await ctx.audit.record({
    ...eventBy(CLI_ACTOR, 'resource_server.updated', 'success', {
      resource: values.resource,
      removed_scopes: updated.removedScopes,
    }),
    clientId: current.clientId ?? null,
  });
  return toResourceServerView(updated.server);
}

/** resources delete --resource URI: the API and every allowance of it; its tokens introspect inactive. */
export async function resourcesDelete(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({ args, options: { resource: { type: 'string' } }, strict: true });
  if (!values.resource) throw new InvalidRequest('--resource is required (the API identifier)');
  const current = await getResourceServer(ctx.db.prisma, values.resource);
  if (!current || !(await deleteResourceServer(ctx.db.prisma, values.resource)))
    throw new NotFound(`no API is registered with the identifier ${values.resource}`);
  await announceClientChange(ctx, EVERY_CLIENT);
  await ctx.audit.record({
    ...eventBy(CLI_ACTOR, 'resource_server.deleted', 'success', { resource: values.resource }),
    clientId: current.clientId ?? null,
  });
  return { resource: values.resource, deleted: true };
}
