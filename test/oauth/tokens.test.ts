// Refresh with rotation, revocation (RFC 7009), introspection (RFC 7662) and client_credentials, in both modes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

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
import { MODES, startServer, type TestServer } from '../support/server.js';

describe.each(MODES)('tokens (%s storage)', (mode) => {
  let server: TestServer;
  let user: User;

  beforeAll(async () => {
    server = await startServer(mode);
    user = await createUser(server);
  });
  afterAll(() => server?.stop());

  it('rotates the refresh token on every use', async () => {
    const client = await createTestClient(server);
    const first = await obtainTokens(server, client, user);
    const second = await refresh(server, client, first.refresh_token);
    expect(second.status).toBe(200);
    expect(second.headers.get('cache-control')).toBe('no-store');
    expect(second.body.refresh_token).toEqual(expect.any(String));
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect(second.body.access_token).not.toBe(first.access_token);
    const third = await refresh(server, client, second.body.refresh_token as string);
    expect(third.status).toBe(200);
    expect(third.body.refresh_token).not.toBe(second.body.refresh_token);
  });

  it('treats a used refresh token, once its successor is used, as reuse: invalid_grant and the family revoked', async () => {
    const client = await createTestClient(server);
    const first = await obtainTokens(server, client, user);
    const second = await refresh(server, client, first.refresh_token);
    const third = await refresh(server, client, second.body.refresh_token as string);
    expect(third.status).toBe(200);
    const replay = await refresh(server, client, first.refresh_token);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect((await refresh(server, client, third.body.refresh_token as string)).body.error).toBe('invalid_grant');
    expect((await introspect(server, client, third.body.access_token as string)).body).toEqual({ active: false });
  });

  it('introspects an access token with its claims', async () => {
    const client = await createTestClient(server);
    const tokens = await obtainTokens(server, client, user, { scope: 'openid offline_access profile' });
    const res = await introspect(server, client, tokens.access_token);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      active: true,
      sub: user.id,
      client_id: client.client_id,
      scope: 'openid offline_access profile',
      token_type: 'Bearer',
      iss: server.config.issuer,
    });
    const { exp, iat } = res.body as { exp: number; iat: number };
    expect(exp - iat).toBe(server.config.accessTokenTtl);
    expect((await introspect(server, client, 'not-a-token')).body).toEqual({ active: false });
  });

  it('revokes a refresh token (RFC 7009) so it can no longer be used', async () => {
    const client = await createTestClient(server);
    const tokens = await obtainTokens(server, client, user);
    const res = await revoke(server, client, tokens.refresh_token, 'refresh_token');
    expect(res.status).toBe(200);
    const after = await refresh(server, client, tokens.refresh_token);
    expect(after.status).toBe(400);
    expect(after.body.error).toBe('invalid_grant');
  });

  it('revokes an access token so introspection reports it inactive', async () => {
    const client = await createTestClient(server);
    const tokens = await obtainTokens(server, client, user);
    expect((await introspect(server, client, tokens.access_token)).body.active).toBe(true);
    expect((await revoke(server, client, tokens.access_token)).status).toBe(200);
    expect((await introspect(server, client, tokens.access_token)).body).toEqual({ active: false });
    // RFC 7009 §2.2: an unknown or already revoked token is not an error.
    expect((await revoke(server, client, tokens.access_token)).status).toBe(200);
  });

  it('does not let a client revoke or refresh another client’s token', async () => {
    const owner = await createTestClient(server);
    const other = await createTestClient(server);
    const tokens = await obtainTokens(server, owner, user);
    const stolen = await refresh(server, other, tokens.refresh_token);
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('invalid_grant');
    await revoke(server, other, tokens.refresh_token);
    expect((await refresh(server, owner, tokens.refresh_token)).status).toBe(200);
  });

  it('issues client_credentials tokens to a confidential client allowed that grant', async () => {
    const client = await createTestClient(server, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'admin',
    });
    const res = await tokenRequest(server, client, { grant_type: 'client_credentials', scope: 'admin' });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body).toEqual({
      access_token: expect.any(String),
      expires_in: server.config.accessTokenTtl,
      scope: 'admin',
      token_type: 'Bearer',
    });
    const seen = await introspect(server, client, res.body.access_token as string);
    expect(seen.body).toMatchObject({ active: true, client_id: client.client_id, scope: 'admin' });
    expect(seen.body.sub).toBeUndefined();
  });
});
