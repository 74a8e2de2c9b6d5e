// Resource servers: RFC 9068 JWT access tokens requested through RFC 8707 resource indicators, verifiable with
// jose against the JWKS; introspection (RFC 7662) for both token kinds, honouring revocation, family reuse
// detection and logout everywhere (not-before).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

import {
  createTestClient,
  createUser,
  introspect,
  obtainTokens,
  refresh,
  revoke,
  tokenRequest,
  type User,
} from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';
import { registerResourceServer } from '../../src/clients/resource-servers.js';
import { setAllowance } from '../../src/clients/allowances.js';
import type { ClientView } from '../../src/clients/clients.js';

const API = 'https://api.example.com';

describe('JWT access tokens for resource servers', () => {
  let server: TestServer;
  let user: User;
  let app: ClientView;
  let api: ClientView;
  let stranger: ClientView;

  beforeAll(async () => {
    server = await startServer('external');
    user = await createUser(server);
    api = await createTestClient(server, { grantTypes: ['client_credentials'], redirectUris: [], scopes: 'admin' });
    await registerResourceServer(server.db.prisma, api.client_id, API, 'read write');
    app = await createTestClient(server); // API scopes are governed by allowances, not by the client's scope list
    await setAllowance(server.db.prisma, app.client_id, API, ['read']);
    stranger = await createTestClient(server);
  });
  afterAll(() => server?.stop());

  const forApi = () =>
    obtainTokens(server, app, user, { scope: 'openid offline_access read', extra: { resource: API } });

  it('issues an at+jwt that a resource server verifies locally against the JWKS', async () => {
    const tokens = await forApi();
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({
      typ: 'at+jwt',
      alg: 'ES256',
      kid: expect.any(String),
    });
    const jwks = createRemoteJWKSet(new URL(`${server.url}/jwks`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, {
      issuer: server.config.issuer,
      audience: API,
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({ sub: user.id, client_id: app.client_id, scope: 'read', jti: expect.any(String) });
    expect(payload.exp! - payload.iat!).toBe(server.config.accessTokenTtl);
    expect(tokens.scope).toBe('read');
  });

  it('keeps opaque access tokens as the default when no resource is named', async () => {
    const tokens = await obtainTokens(server, app, user, { scope: 'openid offline_access' });
    expect(() => decodeProtectedHeader(tokens.access_token)).toThrow();
  });

  it('lets the resource server and the owning client introspect a JWT, and nobody else', async () => {
    const { access_token } = await forApi();
    const seen = await introspect(server, api, access_token);
    expect(seen.status).toBe(200);
    expect(seen.body).toEqual({
      active: true,
      sub: user.id,
      client_id: app.client_id,
      scope: 'read',
      aud: API,
      iss: server.config.issuer,
      exp: expect.any(Number),
      iat: expect.any(Number),
      jti: expect.any(String),
      token_type: 'Bearer',
    });
    expect((await introspect(server, app, access_token)).body.active).toBe(true);
    expect((await introspect(server, stranger, access_token)).body).toEqual({ active: false });
  });

  it('lets a resource server introspect opaque tokens only when it is their audience', async () => {
    const opaque = await obtainTokens(server, app, user, { scope: 'openid offline_access' });
    expect((await introspect(server, api, opaque.access_token)).body).toEqual({ active: false });
    expect((await introspect(server, app, opaque.access_token)).body).toMatchObject({ active: true, sub: user.id });
  });

  it('rotates to a new JWT for the same resource on refresh', async () => {
    const tokens = await forApi();
    const next = await refresh(server, app, tokens.refresh_token);
    expect(next.status).toBe(200);
    expect(decodeProtectedHeader(next.body.access_token as string).typ).toBe('at+jwt');
    expect((await introspect(server, api, next.body.access_token as string)).body).toMatchObject({
      active: true,
      aud: API,
      scope: 'read',
    });
  });

  it('makes the family’s JWTs inactive when reuse is detected', async () => {
    const tokens = await forApi();
    const second = await refresh(server, app, tokens.refresh_token);
    const third = await refresh(server, app, second.body.refresh_token as string);
    expect((await refresh(server, app, tokens.refresh_token)).body.error).toBe('invalid_grant');
    for (const at of [tokens.access_token, second.body.access_token, third.body.access_token] as string[]) {
      expect((await introspect(server, api, at)).body).toEqual({ active: false });
    }
  });

  it('revokes a JWT through RFC 7009 for its own client only', async () => {
    const { access_token } = await forApi();
    expect((await revoke(server, stranger, access_token)).status).toBe(200);
    expect((await introspect(server, api, access_token)).body.active).toBe(true);
    expect((await revoke(server, app, access_token)).status).toBe(200);
    expect((await introspect(server, api, access_token)).body).toEqual({ active: false });
  });

  it('makes every earlier token inactive after logout everywhere, JWT and opaque alike', async () => {
    const someone = await createUser(server);
    const jwt = await obtainTokens(server, app, someone, {
      scope: 'openid offline_access read',
      extra: { resource: API },
    });
    const opaque = await obtainTokens(server, app, someone, { scope: 'openid offline_access' });
    await server.db.prisma.account.update({ where: { id: someone.id }, data: { notBefore: new Date() } });
    expect((await introspect(server, api, jwt.access_token)).body).toEqual({ active: false });
    expect((await introspect(server, app, opaque.access_token)).body).toEqual({ active: false });
    const later = await obtainTokens(server, app, someone, { scope: 'openid offline_access', browser: undefined });
    await new Promise((r) => setTimeout(r, 1100)); // one-second iat resolution: tokens from the logout second count as earlier
    const fresh = await refresh(server, app, later.refresh_token);
    expect((await introspect(server, app, fresh.body.access_token as string)).body.active).toBe(true);
  });

  it('does not accept a JWT’s jti as an opaque token', async () => {
    const { access_token } = await forApi();
    const { jti } = JSON.parse(Buffer.from(access_token.split('.')[1]!, 'base64url').toString()) as { jti: string };
    expect((await introspect(server, app, jti)).body).toEqual({ active: false });
    const me = await fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${jti}` } });
    expect(me.status).toBe(401);
  });

  it('refuses an unknown resource with invalid_target', async () => {
    const res = await tokenRequest(server, api, {
      grant_type: 'client_credentials',
      scope: 'admin',
      resource: 'https://unknown.example.com',
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_target',
      error_description: 'unknown resource server https://unknown.example.com',
    });
  });

  it('answers a forged or foreign JWT with active false', async () => {
    const { access_token } = await forApi();
    const [h, p] = access_token.split('.');
    const forged = `${h}.${p}.${'A'.repeat(86)}`;
    expect((await introspect(server, api, forged)).body).toEqual({ active: false });
  });
});
