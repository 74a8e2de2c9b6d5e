// The admin API for APIs and allowances: GET /admin/clients/{id}/resources, PUT|DELETE
// /admin/clients/{id}/resources/{url-encoded identifier}, /admin/resources (register, rename, change scopes,
// remove), audited; registration (POST and PATCH /admin/clients) refusing scopes nobody defines; and a second
// instance seeing a removed allowance within seconds.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { ClientView } from '../../src/clients/clients.js';
import { createTestClient, introspect, tokenRequest } from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';
import { adminCall, adminToken } from './helpers.js';

const ORDERS = 'https://orders.example.com';
const path = (clientId: string, resource = ORDERS) =>
  `/admin/clients/${clientId}/resources/${encodeURIComponent(resource)}`;

describe.each(MODES)('admin API: APIs and allowances (%s)', (mode) => {
  let server: TestServer;
  let token: string;
  const call = (method: string, url: string, body?: unknown) => adminCall(server, method, url, { token, body });
  const machine = () =>
    createTestClient(server, { grantTypes: ['client_credentials'], redirectUris: [], scopes: 'profile' });
  const cc = (target: TestServer, client: ClientView, scope: string) =>
    tokenRequest(target, client, { grant_type: 'client_credentials', scope, resource: ORDERS });

  beforeAll(async () => {
    server = await startServer(mode);
    ({ token } = await adminToken(server));
    const created = await call('POST', '/admin/resources', {
      identifier: ORDERS,
      name: 'Orders API',
      scopes: [{ name: 'orders:read', description: 'Read your orders' }, 'orders:write'],
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/admin/resources/${encodeURIComponent(ORDERS)}`);
    expect(created.body).toEqual({
      identifier: ORDERS,
      name: 'Orders API',
      client_id: null,
      scopes: [
        { name: 'orders:read', description: 'Read your orders' },
        { name: 'orders:write', description: null },
      ],
    });
  });
  afterAll(() => server?.stop());

  it('sets, lists and removes a client’s allowance, audited, with effect on its tokens', async () => {
    const client = await machine();
    expect((await call('GET', `/admin/clients/${client.client_id}/resources`)).body).toEqual({
      items: [],
      next_cursor: null,
    });

    const put = await call('PUT', path(client.client_id), { scopes: ['orders:read'] });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ client_id: client.client_id, resource: ORDERS, scopes: ['orders:read'] });
    expect((await call('GET', `/admin/clients/${client.client_id}/resources`)).body.items).toEqual([put.body]);
    const granted = await cc(server, client, 'orders:read orders:write');
    expect([granted.status, granted.body.scope]).toEqual([200, 'orders:read']);

    expect((await call('DELETE', path(client.client_id))).status).toBe(204);
    expect((await call('GET', `/admin/clients/${client.client_id}/resources`)).body.items).toEqual([]);
    expect((await cc(server, client, 'orders:read')).body.error).toBe('invalid_target');

    const events = await call('GET', `/admin/audit?client_id=${client.client_id}`);
    expect(events.body.items.map((e: { type: string }) => e.type)).toEqual([
      'client.resource_removed',
      'client.resource_allowed',
    ]);
    expect(events.body.items[1].detail).toMatchObject({ resource: ORDERS, scopes: ['orders:read'], via: 'admin_api' });
  });

  it('refuses scopes the API does not define, unknown APIs and clients, and malformed bodies', async () => {
    const client = await machine();
    const undefinedScope = await call('PUT', path(client.client_id), { scopes: ['orders:delete'] });
    expect(undefinedScope.status).toBe(400);
    expect(undefinedScope.body.error_description).toMatch(
      /^the API https:\/\/orders\.example\.com does not define the scope orders:delete \(it defines: orders:read orders:write\)/,
    );
    expect((await call('PUT', path(client.client_id, 'https://none.example.com'), { scopes: ['a'] })).status).toBe(404);
    expect((await call('PUT', path('no-such-client'), { scopes: ['orders:read'] })).status).toBe(404);
    expect((await call('PUT', path(client.client_id), { scopes: 'orders:read' })).status).toBe(400);
    expect(
      (await call('PUT', path(client.client_id), { scopes: ['orders:read'], extra: 1 })).body.error_description,
    ).toBe('unknown field extra');
  });

  it('lets an admin rename an API and change its scopes; a removed scope leaves every allowance', async () => {
    const client = await machine();
    await call('PUT', path(client.client_id), { scopes: ['orders:read', 'orders:write'] });
    const patched = await call('PATCH', `/admin/resources/${encodeURIComponent(ORDERS)}`, {
      name: 'Orders',
      scopes: [{ name: 'orders:read', description: 'See orders' }, 'orders:refund'],
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({
      identifier: ORDERS,
      name: 'Orders',
      client_id: null,
      scopes: [
        { name: 'orders:read', description: 'See orders' },
        { name: 'orders:refund', description: null },
      ],
    });
    expect((await call('GET', `/admin/resources/${encodeURIComponent(ORDERS)}`)).body).toEqual(patched.body);
    expect((await call('GET', `/admin/clients/${client.client_id}/resources`)).body.items[0].scopes).toEqual([
      'orders:read',
    ]);
    expect((await cc(server, client, 'orders:read orders:write')).body.scope).toBe('orders:read');
    // Back as it was, for the other tests.
    const restored = await call('PATCH', `/admin/resources/${encodeURIComponent(ORDERS)}`, {
      name: 'Orders API',
      scopes: [{ name: 'orders:read', description: 'Read your orders' }, 'orders:write'],
    });
    expect(restored.status).toBe(200);
    expect(
      (await call('GET', '/admin/resources')).body.items.map((r: { identifier: string }) => r.identifier),
    ).toContain(ORDERS);
    expect(
      (await call('PATCH', `/admin/resources/${encodeURIComponent(ORDERS)}`, { scopes: ['admin'] })).body
        .error_description,
    ).toBe('scope admin is built in; an API cannot define it');
  });

  it('refuses unknown scopes at registration and on PATCH, naming them and saying how to define them', async () => {
    const created = await call('POST', '/admin/clients', {
      name: 'x',
      grant_types: ['client_credentials'],
      scope: 'profile api:read',
    });
    expect(created.status).toBe(400);
    expect(created.body.error).toBe('invalid_request');
    expect(created.body.error_description).toMatch(
      /^unknown scope api:read: it is neither built in \(openid offline_access profile email admin\) nor defined by a registered API\. Define it on an API/,
    );
    expect(created.body.error_description).toContain('PATCH /admin/resources/{identifier}');

    const client = await machine();
    const patched = await call('PATCH', `/admin/clients/${client.client_id}`, {
      scope: 'profile billing:read billing:write',
    });
    expect(patched.status).toBe(400);
    expect(patched.body.error_description).toMatch(
      /^unknown scopes billing:read billing:write: they are neither built in/,
    );
    expect((await call('GET', `/admin/clients/${client.client_id}`)).body.scope).toBe('profile');
    // A scope an API defines is known.
    expect((await call('PATCH', `/admin/clients/${client.client_id}`, { scope: 'profile orders:read' })).status).toBe(
      200,
    );
  });

  it('removes an API with its allowances', async () => {
    const temp = 'https://temp.example.com';
    expect(
      (await call('POST', '/admin/resources', { identifier: temp, name: 'Temp', scopes: ['temp:read'] })).status,
    ).toBe(201);
    const client = await machine();
    await call('PUT', path(client.client_id, temp), { scopes: ['temp:read'] });
    expect((await call('DELETE', `/admin/resources/${encodeURIComponent(temp)}`)).status).toBe(204);
    expect((await call('GET', `/admin/resources/${encodeURIComponent(temp)}`)).status).toBe(404);
    expect((await call('GET', `/admin/clients/${client.client_id}/resources`)).body.items).toEqual([]);
    expect(
      (await tokenRequest(server, client, { grant_type: 'client_credentials', scope: 'temp:read', resource: temp }))
        .body.error,
    ).toBe('invalid_target');
    expect((await call('DELETE', `/admin/resources/${encodeURIComponent(temp)}`)).status).toBe(404);
  });

  if (mode === 'external') {
    it('has a removed allowance seen by a second instance within seconds', async () => {
      // Instances of one server share its issuer (the sibling listens on another port).
      const sibling = await server.sibling({ CLIENT_CACHE_SECONDS: '60', ISSUER: server.config.issuer });
      try {
        const client = await machine();
        await call('PUT', path(client.client_id), { scopes: ['orders:read'] });
        expect((await cc(sibling, client, 'orders:read')).body.scope).toBe('orders:read'); // the sibling caches it
        expect((await call('DELETE', path(client.client_id))).status).toBe(204);
        const removedAt = Date.now();
        let answer = await cc(sibling, client, 'orders:read');
        while (answer.status === 200 && Date.now() - removedAt < 3_000) {
          await new Promise((r) => setTimeout(r, 50));
          answer = await cc(sibling, client, 'orders:read');
        }
        expect(answer.body.error).toBe('invalid_target');
        expect(Date.now() - removedAt).toBeLessThan(3_000);

        // A deleted client's JWT is inactive on the other instance at once, for the API that introspects it.
        const apiClient = await machine();
        const billing = 'https://billing.example.com';
        expect(
          (
            await call('POST', '/admin/resources', {
              identifier: billing,
              name: 'Billing',
              scopes: ['billing:read'],
              client_id: apiClient.client_id,
            })
          ).status,
        ).toBe(201);
        const payer = await machine();
        await call('PUT', path(payer.client_id, billing), { scopes: ['billing:read'] });
        const issued = await tokenRequest(server, payer, {
          grant_type: 'client_credentials',
          scope: 'billing:read',
          resource: billing,
        });
        expect(issued.body.scope).toBe('billing:read');
        const jwt = issued.body.access_token as string;
        expect((await introspect(server, apiClient, jwt)).body).toMatchObject({ active: true, aud: billing });
        expect((await introspect(sibling, apiClient, jwt)).body).toMatchObject({ active: true, aud: billing });
        expect((await call('DELETE', `/admin/clients/${payer.client_id}`)).status).toBe(204);
        expect((await introspect(sibling, apiClient, jwt)).body).toEqual({ active: false });
      } finally {
        await sibling.stop();
      }
    });
  }
});
