// /admin/clients: register (secret shown once, audited), list in pages, read, change (validated as at creation),
// remove (with its sessions), rotate the secret (old one dead at once, audited).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { ClientView } from '../../src/clients/clients.js';
import { familyOf } from '../support/families.js';
import { createTestClient, createUser, obtainTokens, refresh, REDIRECT_URI, tokenRequest } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';
import { adminCall, adminToken } from './helpers.js';

const clientShape = (overrides: Partial<ClientView>) => ({
  client_id: expect.any(String),
  client_name: expect.any(String),
  redirect_uris: expect.any(Array),
  grant_types: expect.any(Array),
  response_types: expect.any(Array),
  scope: expect.any(String),
  token_endpoint_auth_method: expect.any(String),
  application_type: expect.any(String),
  allow_nonce_instead_of_pkce: false,
  admin: false,
  ...overrides,
});

describe('admin API: clients', () => {
  let server: TestServer;
  let admin: ClientView;
  let token: string;
  const call = (method: string, path: string, body?: unknown) => adminCall(server, method, path, { token, body });

  const auditOfClient = (clientId: string) =>
    server.db.sql.query<{ type: string; outcome: string; client_id: string; detail: Record<string, unknown> }>(
      'SELECT type, outcome, client_id, detail FROM audit_events WHERE client_id = $1 ORDER BY id',
      [clientId],
    );

  beforeAll(async () => {
    server = await startServer('external');
    ({ client: admin, token } = await adminToken(server));
  });
  afterAll(() => server?.stop());

  it('registers a confidential client, shows its secret once, and audits client.created', async () => {
    const res = await call('POST', '/admin/clients', { name: 'Web app', redirect_uris: [REDIRECT_URI] });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({
      ...clientShape({
        client_name: 'Web app',
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      }),
      client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      scope: 'openid offline_access profile email',
      token_endpoint_auth_method: 'client_secret_basic',
      application_type: 'web',
    });
    expect(res.headers.get('location')).toBe(`/admin/clients/${res.body.client_id}`);
    // The secret works, and is not shown again.
    const created = res.body as ClientView;
    expect(await obtainTokens(server, created, await createUser(server))).toMatchObject({
      refresh_token: expect.any(String),
    });
    const read = await call('GET', `/admin/clients/${created.client_id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(clientShape({ ...created, client_secret: undefined }));
    expect(read.body).not.toHaveProperty('client_secret');

    expect((await auditOfClient(created.client_id)).filter((e) => e.type === 'client.created')).toEqual([
      {
        type: 'client.created',
        outcome: 'success',
        client_id: created.client_id,
        detail: { via: 'admin_api', admin_client_id: admin.client_id },
      },
    ]);
    expect(server.logs.join('')).toContain('"msg":"audit client.created"');
  });

  it('takes the options of `clients create`: public, grant_types, scope, admin', async () => {
    const spa = await call('POST', '/admin/clients', {
      name: 'SPA',
      redirect_uris: ['http://127.0.0.1:8080/cb'],
      public: true,
    });
    expect(spa.status).toBe(201);
    expect(spa.body).not.toHaveProperty('client_secret');
    expect(spa.body).toMatchObject({ token_endpoint_auth_method: 'none', application_type: 'native' });

    const service = await call('POST', '/admin/clients', {
      name: 'Service',
      grant_types: ['client_credentials'],
      scope: 'profile',
    });
    expect(service.status).toBe(201);
    expect(service.body).toMatchObject({
      grant_types: ['client_credentials'],
      scope: 'profile',
      redirect_uris: [],
      response_types: [],
    });

    const ops = await call('POST', '/admin/clients', { name: 'Ops', admin: true });
    expect(ops.status).toBe(201);
    expect(ops.body).toMatchObject({ grant_types: ['client_credentials'], scope: 'admin', admin: true });
    const opsToken = await tokenRequest(server, ops.body as ClientView, {
      grant_type: 'client_credentials',
      scope: 'admin',
    });
    expect(
      (await adminCall(server, 'GET', '/admin/clients', { token: opsToken.body.access_token as string })).status,
    ).toBe(200);
  });

  it('lists clients in pages of `limit`, without duplicates or gaps', async () => {
    for (let i = 0; i < 3; i++) await createTestClient(server, { name: `Listed ${i}` });
    const all = await call('GET', '/admin/clients?limit=200');
    expect(all.status).toBe(200);
    expect(all.body.next_cursor).toBeNull();
    const ids = (all.body.items as ClientView[]).map((c) => c.client_id);
    expect(ids.length).toBeGreaterThanOrEqual(5);
    expect(new Set(ids).size).toBe(ids.length);

    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call('GET', `/admin/clients?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      paged.push(...(res.body.items as ClientView[]).map((c) => c.client_id));
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(paged).toEqual(ids);
  });

  it('changes name, redirect_uris and scope, validated as at creation', async () => {
    const client = await createTestClient(server);
    const res = await call('PATCH', `/admin/clients/${client.client_id}`, {
      name: 'Renamed',
      redirect_uris: ['https://new.example.com/cb'],
      scope: 'openid offline_access',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(
      clientShape({
        client_id: client.client_id,
        client_name: 'Renamed',
        redirect_uris: ['https://new.example.com/cb'],
        scope: 'openid offline_access',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        application_type: 'web',
      }),
    );
    expect((await call('GET', `/admin/clients/${client.client_id}`)).body).toEqual(res.body);
    expect((await auditOfClient(client.client_id)).map((e) => [e.type, e.detail])).toEqual([
      [
        'client.updated',
        { fields: ['name', 'redirect_uris', 'scope'], via: 'admin_api', admin_client_id: admin.client_id },
      ],
    ]);

    const bad = await call('PATCH', `/admin/clients/${client.client_id}`, {
      redirect_uris: ['https://x.example.com/cb#frag'],
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({
      error: 'invalid_request',
      error_description: 'redirect_uri "https://x.example.com/cb#frag" must not contain a fragment',
    });
    const empty = await call('PATCH', `/admin/clients/${client.client_id}`, {});
    expect(empty.status).toBe(400);
    expect(empty.body).toEqual({
      error: 'invalid_request',
      error_description:
        'nothing to change: give name, redirect_uris, grant_types, scope, id_token_signed_response_alg or allow_nonce_instead_of_pkce',
    });
    const pinned = await call('PATCH', `/admin/clients/${admin.client_id}`, { scope: 'openid' });
    expect(pinned.status).toBe(400);
    expect(pinned.body.error_description).toBe(
      'the grant_types and scope of an admin client are fixed (client_credentials, admin)',
    );
  });

  it('rotates a secret: shown once, the old one refused at once, audited as client.secret_rotated', async () => {
    const client = await createTestClient(server, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'profile',
    });
    const res = await call('POST', `/admin/clients/${client.client_id}/secret`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({
      client_id: client.client_id,
      client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expect(res.body.client_secret).not.toBe(client.client_secret);

    const old = await tokenRequest(server, client, { grant_type: 'client_credentials', scope: 'profile' });
    expect(old.status).toBe(401);
    expect(old.body.error).toBe('invalid_client');
    const fresh = await tokenRequest(
      server,
      { client_id: client.client_id, client_secret: res.body.client_secret },
      { grant_type: 'client_credentials', scope: 'profile' },
    );
    expect(fresh.status).toBe(200);
    expect((await auditOfClient(client.client_id)).map((e) => [e.type, e.outcome, e.detail])).toEqual([
      ['client.secret_rotated', 'success', { via: 'admin_api', admin_client_id: admin.client_id }],
    ]);

    const spa = await createTestClient(server, { public: true });
    expect(await call('POST', `/admin/clients/${spa.client_id}/secret`)).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', error_description: 'public clients have no secret' },
    });
  });

  it('removes a client and revokes its sessions', async () => {
    const client = await createTestClient(server);
    const tokens = await obtainTokens(server, client, await createUser(server));
    expect((await call('DELETE', `/admin/clients/${client.client_id}`)).status).toBe(204);
    expect((await call('GET', `/admin/clients/${client.client_id}`)).status).toBe(404);
    expect(await familyOf(server, tokens.refresh_token)).toMatchObject({
      revoked_at: expect.any(Date),
      revoked_reason: 'client_deleted',
    });
    expect((await refresh(server, client, tokens.refresh_token)).body.error).toBe('invalid_client');
    expect(
      (await auditOfClient(client.client_id))
        .filter((e) => e.type === 'refresh_token.family_revoked')
        .map((e) => e.detail),
    ).toEqual([{ reason: 'client_deleted', via: 'admin_api', admin_client_id: admin.client_id }]);
    expect(
      (await auditOfClient(client.client_id)).filter((e) => e.type === 'client.deleted').map((e) => e.detail),
    ).toEqual([{ sessions_revoked: 1, via: 'admin_api', admin_client_id: admin.client_id }]);
    expect((await call('DELETE', `/admin/clients/${client.client_id}`)).status).toBe(404);
  });

  it.each([
    ['GET', ''],
    ['PATCH', ''],
    ['DELETE', ''],
    ['POST', '/secret'],
  ])('answers %s of an unknown client%s with 404 not_found', async (method, suffix) => {
    const res = await call(
      method,
      `/admin/clients/no-such-client${suffix}`,
      method === 'PATCH' ? { name: 'x' } : undefined,
    );
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'not_found', error_description: 'no such client' });
  });
});
