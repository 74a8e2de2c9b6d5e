// APIs (resource servers) and which of their scopes each client may obtain (allowances):
//   /admin/clients/{client_id}/resources[/{resource}]   a client's allowances, per API (the identifier URL-encoded)
//   /admin/resources[/{resource}]                       the APIs: register, read, rename or change scopes, remove
// Every change is announced like a client change (src/clients/client-versions.ts): every instance sees it at once.
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import { EVERY_CLIENT, listAllowances, setAllowance } from '../../clients/allowances.js';
import {
  deleteResourceServer,
  getResourceServer,
  listResourceServers,
  registerResourceServer,
  toResourceServerView,
  updateResourceServer,
} from '../../clients/resource-servers.js';
import { NotFound } from '../../errors.js';
import { actorOf, allowanceEvent, eventBy } from '../actor.js';
import type { AdminDeps } from '../deps.js';
import { DEFAULT_LIMIT, decodeCursor, toPage } from '../pagination.js';
import { allowanceBody, createResourceBody, listQuery, updateResourceBody } from '../schemas.js';
import { parseBody, parseQuery, pathParam } from '../validate.js';

const CLIENT_ID = /^[A-Za-z0-9_.~-]{1,200}$/;
// @koa/router hands the parameter over decoded: an absolute URI, checked for what it could name.
const RESOURCE = /^[a-zA-Z][a-zA-Z0-9+.-]*:[^\x00-\x1f\x7f]{1,2040}$/;
const clientIdOf = (ctx: Context) => pathParam(ctx, 'client_id', CLIENT_ID, 'client');
const resourceOf = (ctx: Context) => pathParam(ctx, 'resource', RESOURCE, 'API');
const noSuchApi = () => new NotFound('no such API');

export function registerResourceRoutes(
  router: Router,
  guard: Middleware,
  { prisma, audit, invalidateClient }: AdminDeps,
): void {
  router.get('/clients/:client_id/resources', guard, async function listClientAllowances(ctx) {
    ctx.body = { items: await listAllowances(prisma, clientIdOf(ctx)), next_cursor: null };
  });

  async function allow(ctx: Context, scopes: string[]) {
    const clientId = clientIdOf(ctx);
    const { allowance, before } = await setAllowance(prisma, clientId, resourceOf(ctx), scopes);
    await invalidateClient(clientId);
    await audit.record({ ...allowanceEvent(actorOf(ctx), allowance, before), clientId });
    return allowance;
  }

  router.put('/clients/:client_id/resources/:resource', guard, async function allowResource(ctx) {
    const body = await parseBody(ctx, allowanceBody);
    ctx.body = await allow(ctx, body.scopes);
  });

  router.delete('/clients/:client_id/resources/:resource', guard, async function removeAllowance(ctx) {
    await allow(ctx, []);
    ctx.status = 204;
  });

  router.get('/resources', guard, async function listApis(ctx) {
    const query = parseQuery(ctx, listQuery);
    const limit = query.limit ?? DEFAULT_LIMIT;
    const rows = await listResourceServers(prisma, { after: decodeCursor(query.cursor, z.string()), limit: limit + 1 });
    ctx.body = toPage(rows, limit, toResourceServerView, (r) => r.identifier);
  });

  router.post('/resources', guard, async function registerApi(ctx) {
    const body = await parseBody(ctx, createResourceBody);
    const server = await registerResourceServer(prisma, body.client_id, body.identifier, body.scopes, body.name);
    if (body.client_id) await invalidateClient(body.client_id);
    await audit.record({
      ...eventBy(actorOf(ctx), 'resource_server.updated', 'success', { resource: server.identifier, created: true }),
      clientId: server.clientId ?? null,
    });
    ctx.status = 201;
    ctx.set('Location', `/admin/resources/${encodeURIComponent(server.identifier)}`);
    ctx.body = toResourceServerView(server);
  });

  router.get('/resources/:resource', guard, async function readApi(ctx) {
    const server = await getResourceServer(prisma, resourceOf(ctx));
    if (!server) throw noSuchApi();
    ctx.body = toResourceServerView(server);
  });

  router.patch('/resources/:resource', guard, async function changeApi(ctx) {
    const identifier = resourceOf(ctx);
    const body = await parseBody(ctx, updateResourceBody);
    const updated = await updateResourceServer(prisma, identifier, { name: body.name, scopes: body.scopes });
    if (!updated) throw noSuchApi();
    await invalidateClient(EVERY_CLIENT);
    await audit.record({
      ...eventBy(actorOf(ctx), 'resource_server.updated', 'success', {
        resource: identifier,
        fields: Object.keys(body),
        removed_scopes: updated.removedScopes,
      }),
      clientId: updated.server.clientId ?? null,
    });
    ctx.body = toResourceServerView(updated.server);
  });

  router.delete('/resources/:resource', guard, async function removeApi(ctx) {
    const identifier = resourceOf(ctx);
    const server = await getResourceServer(prisma, identifier);
    if (!server || !(await deleteResourceServer(prisma, identifier))) throw noSuchApi();
    await invalidateClient(EVERY_CLIENT);
    await audit.record({
      ...eventBy(actorOf(ctx), 'resource_server.deleted', 'success', { resource: identifier }),
      clientId: server.clientId ?? null,
    });
    ctx.status = 204;
  });
}
