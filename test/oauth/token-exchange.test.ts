// Token exchange (RFC 8693): a resource server (the Orders API) exchanges the access token a user's app sent it for a
// token to another API (Fulfilment) on the user's behalf, within its allowance, named as the actor; on real
// PostgreSQL + Redis and on the embedded default, with openid-client as the exchanging client.
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import * as oidc from 'openid-client';

import { deleteUser, disableUser } from '../../src/accounts/lifecycle.js';
import { CLI_ACTOR } from '../../src/audit/actor.js';
import { setAllowance } from '../../src/clients/allowances.js';
import { TOKEN_EXCHANGE_GRANT, type ClientView } from '../../src/clients/clients.js';
import { registerResourceServer } from '../../src/clients/resource-servers.js';
import {
  createTestClient,
  createUser,
  introspect,
  obtainTokens,
  revoke,
  tokenRequest,
  type User,
} from '../support/oauth.js';
import { laterBy } from '../support/clock.js';
import { runCliInProcess } from '../support/cli.js';
import { adminCall, adminToken } from '../admin/helpers.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

const ORDERS = 'https://orders.example.com';
const FULFILMENT = 'https://fulfilment.example.com';
const LEDGER = 'https://ledger.example.com';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const INACTIVE = {
  error: 'invalid_request',
  error_description: 'subject_token is not an active access token issued to or for this client',
};

describe.each(MODES)('token exchange (%s)', (mode) => {
  let server: TestServer;
  let shop: ClientView; // the user's app, calling the Orders API
  let ordersApi: ClientView; // stands for the Orders API, and calls the Fulfilment API on the user's behalf
  let fulfilmentApi: ClientView; // stands for the Fulfilment API, and calls the Ledger API
  let ledgerApi: ClientView;
  let user: User;

  async function allow(client: ClientView, resource: string, scopes: string[]) {
    await setAllowance(server.db.prisma, client.client_id, resource, scopes);
    await server.adapter.invalidateClient(client.client_id);
  }

  /** An API and the confidential client standing for it, which may exchange tokens. */
  async function api(name: string, identifier: string, scopes: string[]) {
    const client = await createTestClient(server, {
      name,
      grantTypes: [TOKEN_EXCHANGE_GRANT],
      redirectUris: [],
      scopes: 'profile',
    });
    await registerResourceServer(server.db.prisma, client.client_id, identifier, scopes);
    return client;
  }

  /** The user signs in to the shop, which gets a token for the Orders API (a JWT), or an opaque one. */
  const signIn = (who: User, scope = 'openid orders:read orders:write', resource: string | null = ORDERS) =>
    obtainTokens(server, shop, who, { scope, ...(resource ? { extra: { resource } } : {}) });

  const exchange = (
    caller: Pick<ClientView, 'client_id' | 'client_secret'>,
    subjectToken: string,
    params: Record<string, string> = {},
  ) =>
    tokenRequest(server, caller, {
      grant_type: TOKEN_EXCHANGE_GRANT,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      resource: FULFILMENT,
      ...params,
    });

  async function verify(token: string, audience: string): Promise<JWTPayload> {
    const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as JSONWebKeySet;
    return (await jwtVerify(token, createLocalJWKSet(jwks), { issuer: server.config.issuer, audience, typ: 'at+jwt' }))
      .payload;
  }

  beforeAll(async () => {
    server = await startServer(mode);
    shop = await createTestClient(server, {
      name: 'Shop',
      grantTypes: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT],
    });
    ordersApi = await api('Orders API', ORDERS, ['orders:read', 'orders:write']);
    fulfilmentApi = await api('Fulfilment API', FULFILMENT, ['orders:read', 'orders:write', 'fulfilment:ship']);
    ledgerApi = await api('Ledger API', LEDGER, ['orders:read']);
    await allow(shop, ORDERS, ['orders:read', 'orders:write']);
    await allow(ordersApi, FULFILMENT, ['orders:read', 'fulfilment:ship']); // not orders:write
    await allow(fulfilmentApi, LEDGER, ['orders:read']);
    user = await createUser(server);
  });
  afterAll(() => server?.stop());

  it('is advertised in the metadata', async () => {
    const meta = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(meta.grant_types_supported).toContain(TOKEN_EXCHANGE_GRANT);
  });

  it('exchanges the user’s token for one to another API: narrowed to the allowance and the subject’s scopes, acted by the caller, no longer-lived, audited', async () => {
    const subject = await signIn(user);
    const subjectClaims = decodeJwt(subject.access_token);
    expect(subjectClaims).toMatchObject({ aud: ORDERS, scope: 'orders:read orders:write', client_id: shop.client_id });
    // Let a second pass, so that a token living ACCESS_TOKEN_TTL_SECONDS from now would outlive the subject.
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const config = await oidc.discovery(
      new URL(server.url),
      ordersApi.client_id,
      undefined,
      oidc.ClientSecretBasic(ordersApi.client_secret!),
      { execute: [oidc.allowInsecureRequests] },
    );
    const response = await oidc.genericGrantRequest(config, TOKEN_EXCHANGE_GRANT, {
      subject_token: subject.access_token,
      subject_token_type: ACCESS_TOKEN_TYPE,
      resource: FULFILMENT,
      scope: 'orders:read orders:write fulfilment:ship', // orders:write: not allowed to the caller; fulfilment:ship: not the user's
    });
    expect(response).toMatchObject({
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'bearer',
      scope: 'orders:read',
    });
    expect(response.refresh_token).toBeUndefined();
    expect(response.id_token).toBeUndefined();

    const claims = await verify(response.access_token, FULFILMENT);
    expect(claims).toMatchObject({
      sub: user.id,
      client_id: ordersApi.client_id,
      scope: 'orders:read',
      act: { sub: ordersApi.client_id },
    });
    expect(claims.exp).toBe(subjectClaims.exp); // bounded by the subject token, not ACCESS_TOKEN_TTL_SECONDS from now
    expect(response.expires_in).toBeLessThanOrEqual(subjectClaims.exp! - Math.floor(Date.now() / 1000) + 1);

    // The API it is for sees the actor at introspection, and so does the caller (its own token).
    const seen = await introspect(server, fulfilmentApi, response.access_token);
    expect(seen.body).toMatchObject({
      active: true,
      sub: user.id,
      client_id: ordersApi.client_id,
      aud: FULFILMENT,
      scope: 'orders:read',
      act: { sub: ordersApi.client_id },
    });
    expect((await introspect(server, ordersApi, response.access_token)).body).toMatchObject({
      active: true,
      act: { sub: ordersApi.client_id },
    });

    const events = await server.db.prisma.auditEvent.findMany({
      where: { type: 'token.exchanged', clientId: ordersApi.client_id, accountId: user.id },
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      outcome: 'success',
      detail: {
        subject_client_id: shop.client_id,
        subject_token_format: 'jwt',
        resource: FULFILMENT,
        scope: 'orders:read',
        act: { sub: ordersApi.client_id },
      },
    });
  });

  it('answers with no-store, and nests the actors when an exchanged token is exchanged again; revoking the user’s token ends them all', async () => {
    const subject = await signIn(user);
    const first = await exchange(ordersApi, subject.access_token);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const second = await exchange(fulfilmentApi, first.body.access_token as string, { resource: LEDGER });
    expect(second.status).toBe(200);
    const claims = await verify(second.body.access_token as string, LEDGER);
    expect(claims).toMatchObject({
      sub: user.id,
      client_id: fulfilmentApi.client_id,
      act: { sub: fulfilmentApi.client_id, act: { sub: ordersApi.client_id } },
    });
    expect((await introspect(server, ledgerApi, second.body.access_token as string)).body).toMatchObject({
      active: true,
      act: { sub: fulfilmentApi.client_id, act: { sub: ordersApi.client_id } },
    });

    expect((await revoke(server, shop, subject.access_token)).status).toBe(200);
    expect((await introspect(server, fulfilmentApi, first.body.access_token as string)).body).toEqual({
      active: false,
    });
    expect((await introspect(server, ledgerApi, second.body.access_token as string)).body).toEqual({ active: false });
    expect((await exchange(ordersApi, subject.access_token)).body).toEqual(INACTIVE);
    expect((await exchange(fulfilmentApi, first.body.access_token as string, { resource: LEDGER })).body).toEqual(
      INACTIVE,
    );
  });

  describe('refuses the subject token', () => {
    it('when it is not an active access token of Tollgate (invalid_request, RFC 8693 §2.2.2)', async () => {
      const subject = await signIn(user, 'openid offline_access orders:read');
      expect((await exchange(ordersApi, 'not-a-token')).body).toEqual(INACTIVE);
      expect((await exchange(ordersApi, `${subject.access_token.slice(0, -4)}AAAA`)).body).toEqual(INACTIVE); // signature broken
      expect((await exchange(ordersApi, subject.refresh_token)).body).toEqual(INACTIVE); // a refresh token is no access token
      // A client_credentials token for the Orders API is an access token, but no user's: there is nobody to act for.
      const machine = await createTestClient(server, {
        name: 'Machine',
        grantTypes: ['client_credentials'],
        redirectUris: [],
        scopes: 'profile',
      });
      await allow(machine, ORDERS, ['orders:read']);
      const own = await tokenRequest(server, machine, {
        grant_type: 'client_credentials',
        scope: 'orders:read',
        resource: ORDERS,
      });
      expect((await introspect(server, ordersApi, own.body.access_token as string)).body).toMatchObject({
        active: true,
      });
      expect((await exchange(ordersApi, own.body.access_token as string)).body).toEqual(INACTIVE);
      const res = await exchange(ordersApi, subject.access_token, {
        subject_token_type: 'urn:ietf:params:oauth:token-type:refresh_token',
      });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_request',
        error_description: `unsupported subject_token_type; only ${ACCESS_TOKEN_TYPE} is accepted`,
      });
      const missing = await tokenRequest(server, ordersApi, {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token_type: ACCESS_TOKEN_TYPE,
        resource: FULFILMENT,
      });
      expect(missing.body).toEqual({
        error: 'invalid_request',
        error_description: 'missing required parameter(s) (subject_token)',
      });
      expect(
        (
          await exchange(ordersApi, subject.access_token, {
            actor_token: subject.access_token,
            actor_token_type: ACCESS_TOKEN_TYPE,
          })
        ).body.error,
      ).toBe('invalid_request');
      expect(
        (
          await exchange(ordersApi, subject.access_token, {
            requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token',
          })
        ).body.error,
      ).toBe('invalid_request');
      // Still good after all that: the refusals were about the requests.
      expect((await exchange(ordersApi, subject.access_token)).status).toBe(200);
    });

    it('when it was neither issued to the caller nor addressed to it', async () => {
      const snoop = await createTestClient(server, {
        name: 'Snoop',
        grantTypes: [TOKEN_EXCHANGE_GRANT],
        redirectUris: [],
        scopes: 'profile',
      });
      await allow(snoop, FULFILMENT, ['orders:read']);
      const subject = await signIn(user);
      expect((await exchange(snoop, subject.access_token)).body).toEqual(INACTIVE);
      expect((await exchange(ordersApi, subject.access_token)).status).toBe(200);
    });

    it('once its refresh-token family is revoked', async () => {
      const subject = await signIn(user, 'openid offline_access orders:read');
      const family = await server.db.prisma.refreshFamily.findFirstOrThrow({
        where: { accountId: user.id, clientId: shop.client_id },
        orderBy: { createdAt: 'desc' },
      });
      await server.families.revokeFamily(family.id, 'test', []);
      expect((await exchange(ordersApi, subject.access_token)).body).toEqual(INACTIVE);
    });

    it('once its user is logged out everywhere, disabled or deleted', async () => {
      const lifecycle = () => ({
        prisma: server.db.prisma,
        families: server.families,
        audit: { record: async () => {}, mirror: () => {} },
      });
      for (const end of ['logged out everywhere', 'disabled'] as const) {
        const someone = await createUser(server);
        const subject = await signIn(someone, 'openid orders:read'); // no offline_access: no family holds it
        expect((await exchange(ordersApi, subject.access_token)).status).toBe(200);
        if (end === 'disabled') await disableUser(lifecycle(), someone.id, CLI_ACTOR);
        else await server.families.logOutAccount(someone.id, 'test', [], []);
        expect((await exchange(ordersApi, subject.access_token)).body).toEqual(INACTIVE);
      }
      const gone = await createUser(server);
      const subject = await signIn(gone, 'openid orders:read');
      await deleteUser(lifecycle(), gone.id, CLI_ACTOR);
      expect((await exchange(ordersApi, subject.access_token)).body).toEqual(INACTIVE);
    });

    it('once it has expired', async () => {
      const subject = await signIn(user, 'openid orders:read');
      // Only the clock moves on (Date, in this process, where the server runs); timers and I/O stay real.
      const later = await laterBy((server.config.accessTokenTtl + 5) * 1000, () =>
        exchange(ordersApi, subject.access_token),
      );
      expect(later.body).toEqual(INACTIVE);
      expect((await exchange(ordersApi, subject.access_token)).status).toBe(200);
    });

    it('in the opaque format too: active, it is recognised (and carries no API scope to exchange); revoked, refused', async () => {
      const subject = await signIn(user, 'openid', null);
      expect(subject.access_token.split('.')).toHaveLength(1); // opaque
      const held = await exchange(shop, subject.access_token, { resource: ORDERS });
      expect(held.body).toEqual({
        error: 'invalid_scope',
        error_description: `none of the requested scopes is both held by the subject token and allowed to this client for ${ORDERS}`,
      });
      expect((await exchange(ordersApi, subject.access_token)).body).toEqual(INACTIVE); // not the Orders API's token
      await revoke(server, shop, subject.access_token);
      expect((await exchange(shop, subject.access_token, { resource: ORDERS })).body).toEqual(INACTIVE);
    });
  });

  describe('refuses the caller', () => {
    it('without the grant type (unauthorized_client)', async () => {
      const machine = await createTestClient(server, {
        name: 'Machine',
        grantTypes: ['client_credentials'],
        redirectUris: [],
        scopes: 'profile',
      });
      await allow(machine, FULFILMENT, ['orders:read']);
      const res = await exchange(machine, (await signIn(user)).access_token);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'unauthorized_client',
        error_description: 'requested grant type is not allowed for this client',
      });
    });

    it('without an allowance for the API, or naming none or an unknown one (invalid_target)', async () => {
      const subject = await signIn(user);
      const res = await exchange(ordersApi, subject.access_token, { resource: LEDGER });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_target',
        error_description: `client ${ordersApi.client_id} is not allowed any scope of ${LEDGER}`,
      });
      expect(
        (await exchange(ordersApi, subject.access_token, { resource: 'https://unknown.example.com' })).body.error,
      ).toBe('invalid_target');
      const none = await tokenRequest(server, ordersApi, {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: subject.access_token,
        subject_token_type: ACCESS_TOKEN_TYPE,
      });
      expect(none.body).toEqual({
        error: 'invalid_target',
        error_description: 'name the API the new token is for (resource or audience)',
      });
      // `audience` names an API as `resource` does.
      const byAudience = await tokenRequest(server, ordersApi, {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: subject.access_token,
        subject_token_type: ACCESS_TOKEN_TYPE,
        audience: FULFILMENT,
      });
      expect(byAudience.status).toBe(200);
      expect(decodeJwt(byAudience.body.access_token as string).aud).toBe(FULFILMENT);
    });

    it('asking for scopes it cannot have (invalid_scope): neither the allowance nor the subject’s scopes can be widened', async () => {
      const readOnly = await signIn(user, 'openid orders:read');
      const notAllowed = await exchange(ordersApi, (await signIn(user)).access_token, { scope: 'orders:write' }); // the user's, not allowed
      expect(notAllowed.body.error).toBe('invalid_scope');
      const notHeld = await exchange(ordersApi, readOnly.access_token, { scope: 'fulfilment:ship' }); // allowed, not the user's
      expect(notHeld.body.error).toBe('invalid_scope');
      const all = await exchange(ordersApi, readOnly.access_token, {
        scope: 'orders:read orders:write fulfilment:ship',
      });
      expect(all.body.scope).toBe('orders:read');
      expect(decodeJwt(all.body.access_token as string).scope).toBe('orders:read');
    });
  });

  it('binds the new token to the caller’s DPoP key, and requires a proof from a caller registered for DPoP-bound tokens', async () => {
    const BOUND = 'https://bound.example.com';
    const bound = await createTestClient(server, {
      name: 'Bound API',
      grantTypes: [TOKEN_EXCHANGE_GRANT],
      redirectUris: [],
      scopes: 'profile',
      dpopBoundAccessTokens: true,
    });
    await registerResourceServer(server.db.prisma, bound.client_id, BOUND, ['orders:read']);
    await allow(shop, BOUND, ['orders:read']);
    await allow(bound, FULFILMENT, ['orders:read']);
    const subject = await signIn(user, 'openid orders:read', BOUND);

    const withoutProof = await exchange(bound, subject.access_token);
    expect(withoutProof.status).toBe(400);
    expect(withoutProof.body.error).toBe('invalid_grant'); // as at every grant (oidc-provider's checkDpopRequired)
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const proof = await new SignJWT({ htm: 'POST', htu: `${server.config.issuer}/token`, jti: randomUUID() })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk })
      .setIssuedAt()
      .sign(privateKey);
    const res = await tokenRequest(
      server,
      bound,
      {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: subject.access_token,
        subject_token_type: ACCESS_TOKEN_TYPE,
        resource: FULFILMENT,
      },
      { dpop: proof },
    );
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('DPoP');
    expect(decodeJwt(res.body.access_token as string)).toMatchObject({
      cnf: { jkt: await calculateJwkThumbprint(jwk) },
      act: { sub: bound.client_id },
    });
    const replayed = await tokenRequest(
      server,
      bound,
      {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: subject.access_token,
        subject_token_type: ACCESS_TOKEN_TYPE,
        resource: FULFILMENT,
      },
      { dpop: proof },
    );
    expect(replayed.status).toBe(400);
  });

  it('accepts the grant type in the CLI (confidential clients only); such a client, standing for an API, exchanges its tokens', async () => {
    const WAREHOUSE = 'https://warehouse.example.com';
    const created = await runCliInProcess(
      [
        'clients',
        'create',
        '--name',
        'Warehouse API',
        '--grant-types',
        TOKEN_EXCHANGE_GRANT,
        '--scopes',
        'profile',
        '--resource-server',
        WAREHOUSE,
        '--resource-scopes',
        'orders:read',
      ],
      { env: server.env },
    );
    expect(created.code).toBe(0);
    const warehouse = created.json as ClientView;
    expect(warehouse).toMatchObject({
      grant_types: [TOKEN_EXCHANGE_GRANT],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    const refused = await runCliInProcess(
      ['clients', 'create', '--name', 'Public exchanger', '--public', '--grant-types', TOKEN_EXCHANGE_GRANT],
      { env: server.env },
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain('public clients cannot use token exchange');

    await allow(shop, WAREHOUSE, ['orders:read']);
    await allow(warehouse, FULFILMENT, ['orders:read']);
    const subject = await signIn(user, 'openid orders:read', WAREHOUSE);
    const res = await exchange(warehouse, subject.access_token);
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token as string)).toMatchObject({
      aud: FULFILMENT,
      act: { sub: warehouse.client_id },
    });
  });

  it('is accepted by the admin API for confidential clients, and refused to public ones and to dynamic registration', async () => {
    const { token } = await adminToken(server);
    const created = await adminCall(server, 'POST', '/admin/clients', {
      token,
      body: { name: 'Exchanger', grant_types: [TOKEN_EXCHANGE_GRANT], scope: 'profile' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      grant_types: [TOKEN_EXCHANGE_GRANT],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    const publicOne = await adminCall(server, 'POST', '/admin/clients', {
      token,
      body: { name: 'Public', public: true, grant_types: [TOKEN_EXCHANGE_GRANT] },
    });
    expect(publicOne.status).toBe(400);
    expect(publicOne.body).toEqual({
      error: 'invalid_request',
      error_description: 'public clients cannot use token exchange',
    });
    const spa = await createTestClient(server, { name: 'SPA', public: true });
    const patched = await adminCall(server, 'PATCH', `/admin/clients/${spa.client_id}`, {
      token,
      body: { grant_types: ['authorization_code', TOKEN_EXCHANGE_GRANT] },
    });
    expect(patched.status).toBe(400);

    const initial = await adminCall(server, 'POST', '/admin/registration-tokens', { token, body: {} });
    const registered = await fetch(`${server.url}/reg`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: `Bearer ${initial.body.token as string}`,
      },
      body: JSON.stringify({
        client_name: 'Self-made exchanger',
        grant_types: [TOKEN_EXCHANGE_GRANT],
        redirect_uris: [],
        response_types: [],
      }),
    });
    expect(registered.status).toBe(400);
    expect(await registered.json()).toEqual({
      error: 'invalid_client_metadata',
      error_description:
        'grant_types must be authorization_code (optionally with refresh_token), or client_credentials alone',
    });
  });
});
