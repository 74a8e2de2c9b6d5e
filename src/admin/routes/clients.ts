// /admin/clients: register, list, read, change and remove clients, and rotate their secrets. A secret appears once,
// in the response that created it; only its HMAC is stored.
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';

import {
  createClient,
  deleteClient,
  getClient,
  listClients,
  rotateClientSecret,
  updateClient,
} from '../../clients/clients.js';
import { NotFound } from '../../errors.js';
import { revokeClientSessions } from '../../sessions/sessions.js';
import { actorOf, eventBy } from '../actor.js';
import type { AdminDeps } from '../deps.js';
import { DEFAULT_LIMIT, decodeCursor, toPage } from '../pagination.js';
import { createClientBody, listQuery, updateClientBody } from '../schemas.js';
import { parseBody, parseQuery, pathParam } from '../validate.js';

// createClient makes base64url ids; the bound spares lookups of absurd values.
const CLIENT_ID = /^[A-Za-z0-9_.~-]{1,200}$/;
const clientIdOf = (ctx: Context) => pathParam(ctx, 'client_id', CLIENT_ID, 'client');
const noSuchClient = () => new NotFound('no such client');

export function registerClientRoutes(
  router: Router,
  guard: Middleware,
  { prisma, hash, families, audit, invalidateClient }: AdminDeps,
): void {
  router.get('/clients', guard, async function listAllClients(ctx) {
    const query = parseQuery(ctx, listQuery);
    const limit = query.limit ?? DEFAULT_LIMIT;
    const rows = await listClients(prisma, { after: decodeCursor(query.cursor, z.string()), limit: limit + 1 });
    ctx.body = toPage(
      rows,
      limit,
      (c) => c,
      (c) => c.client_id,
    );
  });

  router.post('/clients', guard, async function registerClient(ctx) {
    const body = await parseBody(ctx, createClientBody);
    const event = eventBy(actorOf(ctx), 'client.created', 'success');
    const input = {
      name: body.name,
      redirectUris: body.redirect_uris ?? [],
      public: body.public ?? false,
      grantTypes: body.grant_types,
      scopes: body.scope,
      admin: body.admin ?? false,
      idTokenSignedResponseAlg: body.id_token_signed_response_alg,
      allowNonceInsteadOfPkce: body.allow_nonce_instead_of_pkce,
      authMethod: body.token_endpoint_auth_method,
      jwksUri: body.jwks_uri,
      jwks: body.jwks,
      backchannelLogoutUri: body.backchannel_logout_uri,
      requirePushedAuthorizationRequests: body.require_pushed_authorization_requests,
      dpopBoundAccessTokens: body.dpop_bound_access_tokens,
    };
    const client = await createClient(prisma, hash, input, [event]);
    audit.mirror({ ...event, clientId: client.client_id });
    ctx.status = 201;
    ctx.set('Location', `/admin/clients/${encodeURIComponent(client.client_id)}`);
    ctx.set('Cache-Control', 'no-store'); // the body holds the only copy of the secret
    ctx.body = client;
  });

  router.get('/clients/:client_id', guard, async function readClient(ctx) {
    const client = await getClient(prisma, clientIdOf(ctx));
    if (!client) throw noSuchClient();
    ctx.body = client;
  });

  router.patch('/clients/:client_id', guard, async function changeClient(ctx) {
    const clientId = clientIdOf(ctx);
    const body = await parseBody(ctx, updateClientBody);
    const patch = {
      name: body.name,
      redirectUris: body.redirect_uris,
      grantTypes: body.grant_types,
      scopes: body.scope,
      idTokenSignedResponseAlg: body.id_token_signed_response_alg,
      allowNonceInsteadOfPkce: body.allow_nonce_instead_of_pkce,
      backchannelLogoutUri: body.backchannel_logout_uri,
      requirePushedAuthorizationRequests: body.require_pushed_authorization_requests,
      dpopBoundAccessTokens: body.dpop_bound_access_tokens,
    };
    const client = await updateClient(prisma, clientId, patch);
    if (!client) throw noSuchClient();
    await invalidateClient(clientId);
    await audit.record({
      ...eventBy(actorOf(ctx), 'client.updated', 'success', { fields: Object.keys(body) }),
      clientId,
    });
    ctx.body = client;
  });

  router.delete('/clients/:client_id', guard, async function removeClient(ctx) {
    const clientId = clientIdOf(ctx);
    // Removed first, so that it cannot start new sessions while its old ones are revoked. A retry after a failure
    // in between finds no client but still revokes what is left, so it is a 404 only when nothing was done.
    const deleted = await deleteClient(prisma, clientId);
    await invalidateClient(clientId);
    const revoked = await revokeClientSessions({ prisma, families, audit }, clientId, actorOf(ctx));
    if (!deleted && revoked.length === 0) throw noSuchClient();
    if (deleted)
      await audit.record({
        ...eventBy(actorOf(ctx), 'client.deleted', 'success', { sessions_revoked: revoked.length }),
        clientId,
      });
    ctx.status = 204;
  });

  router.post('/clients/:client_id/secret', guard, async function rotateSecret(ctx) {
    const clientId = clientIdOf(ctx);
    const event = eventBy(actorOf(ctx), 'client.secret_rotated', 'success');
    const secret = await rotateClientSecret(prisma, hash, clientId, [event]);
    if (!secret) throw noSuchClient();
    await invalidateClient(clientId);
    audit.mirror({ ...event, clientId });
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { client_id: clientId, client_secret: secret };
  });
}
