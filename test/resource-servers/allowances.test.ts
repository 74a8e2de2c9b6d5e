// Who may get what: a client obtains an API's scopes only where it was allowed them, by client_credentials and by
// the code flow (and its refreshes), on real PostgreSQL + Redis and on the embedded default.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';

import { setAllowance } from '../../src/clients/allowances.js';
import { DEVICE_CODE_GRANT, type ClientView } from '../../src/clients/clients.js';
import { registerResourceServer } from '../../src/clients/resource-servers.js';
import { Browser, parseForm, pkce } from '../support/browser.js';
import {
  authorizationUrl,
  createTestClient,
  createUser,
  exchangeCode,
  introspect,
  obtainTokens,
  refresh,
  tokenRequest,
  type User,
} from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

const ORDERS = 'https://orders.example.com';

describe.each(MODES)('API allowances (%s)', (mode) => {
  let server: TestServer;
  let api: ClientView;
  let user: User;

  /** Sets an allowance as the admin API does: written, then announced. */
  async function allow(client: ClientView, scopes: string[], resource = ORDERS) {
    await setAllowance(server.db.prisma, client.client_id, resource, scopes);
    await server.adapter.invalidateClient(client.client_id);
  }

  const machine = () =>
    createTestClient(server, { grantTypes: ['client_credentials'], redirectUris: [], scopes: 'profile' });
  const cc = (client: ClientView, scope: string, resource = ORDERS) =>
    tokenRequest(server, client, { grant_type: 'client_credentials', scope, resource });

  beforeAll(async () => {
    server = await startServer(mode);
    api = await createTestClient(server, {
      name: 'Orders API',
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'admin',
    });
    await registerResourceServer(server.db.prisma, api.client_id, ORDERS, [
      { name: 'orders:read', description: 'Read your orders' },
      { name: 'orders:write', description: 'Place & cancel orders' },
    ]);
    user = await createUser(server);
  });
  afterAll(() => server?.stop());

  describe('client_credentials', () => {
    it('gives a client without allowance none of the API’s scopes (invalid_target)', async () => {
      const stranger = await machine();
      const res = await cc(stranger, 'orders:write');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_target',
        error_description: `client ${stranger.client_id} is not allowed any scope of ${ORDERS}`,
      });
      expect(res.body.access_token).toBeUndefined();
    });

    it('gives requested ∩ allowed, and names the granted scope in the response', async () => {
      const client = await machine();
      await allow(client, ['orders:read']);
      const res = await cc(client, 'orders:read orders:write');
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe('orders:read');
      const claims = decodeJwt(res.body.access_token as string);
      expect(claims).toMatchObject({ aud: ORDERS, scope: 'orders:read', client_id: client.client_id });
      expect((await introspect(server, api, res.body.access_token as string)).body).toMatchObject({
        active: true,
        scope: 'orders:read',
        aud: ORDERS,
      });
    });

    it('answers invalid_scope when none of the requested scopes is allowed', async () => {
      const client = await machine();
      await allow(client, ['orders:read']);
      const res = await cc(client, 'orders:write');
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_scope',
        error_description: `none of the requested scopes is allowed for ${ORDERS}; this client may request: orders:read`,
      });
      expect((await cc(client, '')).body.error).toBe('invalid_scope');
    });

    it('stops giving scopes as soon as the allowance is narrowed or taken away', async () => {
      const client = await machine();
      await allow(client, ['orders:read', 'orders:write']);
      expect((await cc(client, 'orders:read orders:write')).body.scope).toBe('orders:read orders:write');
      await allow(client, ['orders:write']);
      expect((await cc(client, 'orders:read orders:write')).body.scope).toBe('orders:write');
      await allow(client, []);
      expect((await cc(client, 'orders:write')).body.error).toBe('invalid_target');
    });

    it('keeps refusing an unknown resource with invalid_target', async () => {
      const res = await cc(await machine(), 'orders:read', 'https://unknown.example.com');
      expect(res.body).toEqual({
        error: 'invalid_target',
        error_description: 'unknown resource server https://unknown.example.com',
      });
    });
  });

  describe('code flow', () => {
    /** The authorization request's immediate answer (no session yet): a redirect or a page. */
    async function authorizeOnce(client: ClientView, scope: string, resource: string) {
      const url = authorizationUrl(server, client, pkce().challenge, { scope, extra: { resource } });
      const res = await fetch(url, { redirect: 'manual' });
      return { res, state: new URL(url).searchParams.get('state') };
    }

    it('sends a client without allowance back to its redirect_uri with invalid_target', async () => {
      const app = await createTestClient(server);
      const { res, state } = await authorizeOnce(app, 'openid orders:read', ORDERS);
      expect(res.status).toBe(303);
      const location = new URL(res.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).toBe(app.redirect_uris[0]);
      expect(Object.fromEntries(location.searchParams)).toMatchObject({
        error: 'invalid_target',
        state,
        iss: server.config.issuer,
      });
    });

    it('sends an unknown resource back to the redirect_uri as invalid_target (RFC 8707 §2)', async () => {
      const app = await createTestClient(server);
      const { res, state } = await authorizeOnce(app, 'openid', 'https://nowhere.example.com/api');
      expect(res.status).toBe(303);
      const location = new URL(res.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).toBe(app.redirect_uris[0]);
      expect(location.searchParams.get('error')).toBe('invalid_target');
      expect(location.searchParams.get('error_description')).toBe(
        'unknown resource server https://nowhere.example.com/api',
      );
      expect(location.searchParams.get('state')).toBe(state);
    });

    it('refuses a request none of whose scopes is allowed with invalid_scope, at the redirect_uri', async () => {
      const app = await createTestClient(server);
      await allow(app, ['orders:read']);
      const { res } = await authorizeOnce(app, 'openid orders:write', ORDERS);
      expect(res.status).toBe(303);
      expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('invalid_scope');
    });

    it('shows the API by name with its scope descriptions, and grants exactly the allowed scopes', async () => {
      const app = await createTestClient(server);
      await allow(app, ['orders:read']);
      const browser = new Browser(server.url);
      const { verifier, challenge } = pkce();
      let { res, url } = await browser.follow(
        await browser.get(
          authorizationUrl(server, app, challenge, {
            scope: 'openid offline_access orders:read orders:write',
            extra: { resource: ORDERS },
          }),
        ),
      );
      const login = parseForm(await res.text());
      ({ res, url } = await browser.follow(
        await browser.postForm(new URL(login.action!, url).toString(), {
          username: user.username,
          password: user.password,
        }),
      ));
      const consent = await res.text();
      expect(consent).toContain('<h2>Orders API</h2>');
      expect(consent).toContain('Read your orders <code>orders:read</code>');
      expect(consent).not.toContain('orders:write'); // not allowed: not even asked
      ({ url } = await browser.follow(
        await browser.postForm(new URL(parseForm(consent).action!, url).toString(), { decision: 'allow' }),
      ));
      const code = new URL(url).searchParams.get('code')!;
      const tokens = await exchangeCode(server, app, code, verifier);
      expect(tokens.status).toBe(200);
      expect(tokens.body.scope).toBe('orders:read');
      expect(decodeJwt(tokens.body.access_token as string)).toMatchObject({ aud: ORDERS, scope: 'orders:read' });
    });

    it('escapes API names and descriptions on the consent page', async () => {
      const theme = (await import('../../views/theme.js')).createTheme({
        name: 'T',
        logoUrl: undefined,
        primaryColor: '#1d4ed8',
      });
      const consent = (await import('../../views/consent.js')).consentPage(theme, {
        action: '/x',
        csrfToken: 't',
        clientName: 'c',
        username: 'u',
        scopes: [],
        apis: [
          {
            name: '<b>Evil</b>',
            identifier: 'https://e.example.com',
            scopes: [{ name: 's', description: '<script>x</script>' }],
          },
        ],
      });
      expect(consent).toContain('&lt;b&gt;Evil&lt;/b&gt;');
      expect(consent).not.toContain('<script>');
    });

    it('lets a refresh narrow the scope, never widen it', async () => {
      const app = await createTestClient(server);
      await allow(app, ['orders:read', 'orders:write']);
      const tokens = await obtainTokens(server, app, user, {
        scope: 'openid offline_access orders:read',
        extra: { resource: ORDERS },
      });
      expect(tokens.scope).toBe('orders:read');
      const wider = await tokenRequest(server, app, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token,
        scope: 'openid orders:read orders:write',
      });
      expect(wider.status).toBe(400);
      expect(wider.body.error).toBe('invalid_scope');

      const both = await obtainTokens(server, app, user, {
        scope: 'openid offline_access orders:read orders:write',
        extra: { resource: ORDERS },
      });
      expect(both.scope).toBe('orders:read orders:write');
      const narrower = await tokenRequest(server, app, {
        grant_type: 'refresh_token',
        refresh_token: both.refresh_token,
        scope: 'openid orders:read',
      });
      expect(narrower.status).toBe(200);
      expect(narrower.body.scope).toBe('orders:read');
      expect(decodeJwt(narrower.body.access_token as string).scope).toBe('orders:read');
    });

    it('drops a scope whose allowance was taken away at the next rotation, for good', async () => {
      const app = await createTestClient(server);
      await allow(app, ['orders:read', 'orders:write']);
      const tokens = await obtainTokens(server, app, user, {
        scope: 'openid offline_access orders:read orders:write',
        extra: { resource: ORDERS },
      });
      await allow(app, ['orders:read']);
      const next = await refresh(server, app, tokens.refresh_token);
      expect(next.status).toBe(200);
      expect(next.body.scope).toBe('orders:read');
      await allow(app, ['orders:read', 'orders:write']); // allowed again: the old family does not get it back
      const after = await refresh(server, app, next.body.refresh_token as string);
      expect(after.body.scope).toBe('orders:read');
      await allow(app, []);
      const none = await refresh(server, app, after.body.refresh_token as string);
      expect(none.status).toBe(400);
      expect(none.body.error).toBe('invalid_grant');
    });
  });

  describe('device authorization (RFC 8628)', () => {
    const start = (client: ClientView, scope: string) =>
      fetch(`${server.url}/device/auth`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ client_id: client.client_id, scope, resource: ORDERS }),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }));

    it('applies the same allowances when a device asks for an API', async () => {
      const tv = await createTestClient(server, {
        name: 'TV',
        public: true,
        redirectUris: [],
        grantTypes: [DEVICE_CODE_GRANT, 'refresh_token'],
      });
      expect(await start(tv, 'openid orders:read')).toEqual({
        status: 400,
        body: {
          error: 'invalid_target',
          error_description: `client ${tv.client_id} is not allowed any scope of ${ORDERS}`,
        },
      });
      await allow(tv, ['orders:read']);
      expect((await start(tv, 'openid orders:write')).body.error).toBe('invalid_scope');
      const started = await start(tv, 'openid orders:read orders:write');
      expect(started.status).toBe(200);
      expect(started.body.device_code).toEqual(expect.any(String));
    });
  });

  describe('deletion', () => {
    it('makes a deleted client’s JWT and opaque access tokens inactive at once', async () => {
      const client = await machine();
      await allow(client, ['orders:read']);
      const jwt = (await cc(client, 'orders:read')).body.access_token as string;
      const opaque = (await tokenRequest(server, client, { grant_type: 'client_credentials', scope: 'profile' })).body
        .access_token as string;
      expect((await introspect(server, api, jwt)).body.active).toBe(true);
      expect((await introspect(server, client, opaque)).body.active).toBe(true);
      const admin = await createTestClient(server, { admin: true, redirectUris: [] });
      const token = (await tokenRequest(server, admin, { grant_type: 'client_credentials', scope: 'admin' })).body
        .access_token as string;
      const deleted = await fetch(`${server.url}/admin/clients/${client.client_id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(deleted.status).toBe(204);
      expect((await introspect(server, api, jwt)).body).toEqual({ active: false });
      // An opaque token is introspectable by its own client only, which can no longer authenticate.
      expect((await introspect(server, client, opaque)).status).toBe(401);
      expect((await introspect(server, api, opaque)).body).toEqual({ active: false });
    });

    it('makes the tokens of a deleted API inactive at once, and refuses new ones', async () => {
      const owner = await createTestClient(server, {
        grantTypes: ['client_credentials'],
        redirectUris: [],
        scopes: 'profile',
      });
      const temp = 'https://temp.example.com';
      await registerResourceServer(server.db.prisma, owner.client_id, temp, 'temp:read');
      const client = await machine();
      await allow(client, ['temp:read'], temp);
      const jwt = (await cc(client, 'temp:read', temp)).body.access_token as string;
      expect((await introspect(server, client, jwt)).body.active).toBe(true);
      const app = await createTestClient(server);
      await allow(app, ['temp:read'], temp);
      const family = await obtainTokens(server, app, user, {
        scope: 'openid offline_access temp:read',
        extra: { resource: temp },
      });
      await server.db.prisma.client.delete({ where: { clientId: owner.client_id } }); // the API goes with its client
      await server.adapter.invalidateClient(owner.client_id);
      expect((await introspect(server, client, jwt)).body).toEqual({ active: false });
      expect((await cc(client, 'temp:read', temp)).body.error).toBe('invalid_target');
      expect((await introspect(server, app, family.access_token)).body).toEqual({ active: false });
      const refreshed = await refresh(server, app, family.refresh_token);
      expect(refreshed.body).toEqual({
        error: 'invalid_grant',
        error_description: `the API ${temp} of this refresh token no longer exists; sign in again`,
      });
    });
  });

  it('never answers invalid_client_metadata, even for a client stored with a scope nobody defines', async () => {
    const client = await machine();
    const row = await server.db.prisma.client.findUniqueOrThrow({ where: { clientId: client.client_id } });
    await server.db.prisma.client.update({
      where: { clientId: client.client_id },
      data: { metadata: { ...(row.metadata as object), scope: 'profile api:read' } },
    });
    await server.adapter.invalidateClient(client.client_id);
    const res = await tokenRequest(server, client, { grant_type: 'client_credentials', scope: 'profile' });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('profile');
  });

  it('lets a client registered with API scopes only obtain them through its allowance, and no built-in scope but openid', async () => {
    const client = await createTestClient(server, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'orders:read',
    });
    expect(
      (await tokenRequest(server, client, { grant_type: 'client_credentials', scope: 'profile' })).body.error,
    ).toBe('invalid_scope');
    expect((await cc(client, 'orders:read')).body.error).toBe('invalid_target');
    await allow(client, ['orders:read']);
    expect((await cc(client, 'orders:read')).body.scope).toBe('orders:read');
  });
});
