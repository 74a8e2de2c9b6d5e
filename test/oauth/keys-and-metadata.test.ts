// Signing keys and metadata: ES256 by default, RS256 when configured, private parts never published and sealed at
// rest, discovery at both well-known paths, and one server's tokens accepted by another instance.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

import { createTestClient, createUser, introspect, obtainTokens, refresh } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

describe('ES256 by default', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external');
  });
  afterAll(() => server?.stop());

  it('publishes only public EC keys and signs ID tokens with ES256', async () => {
    const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: expect.any(String) });
    for (const key of jwks.keys) for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);

    const user = await createUser(server);
    const client = await createTestClient(server);
    const tokens = await obtainTokens(server, client, user);
    expect(decodeProtectedHeader(tokens.id_token!)).toMatchObject({ alg: 'ES256', kid: jwks.keys[0]!.kid });
    const { payload } = await jwtVerify(tokens.id_token!, createLocalJWKSet(jwks as never), { issuer: server.config.issuer, audience: client.client_id });
    expect(payload.sub).toBe(user.id);
  });

  it('keeps the private key sealed in the database', async () => {
    const rows = await server.db.sql.query<{ private_jwk: string; public_jwk: Record<string, unknown> }>('SELECT private_jwk, public_jwk FROM signing_keys');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.private_jwk).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(rows[0]!.private_jwk).not.toContain('"d"');
    for (const member of PRIVATE_MEMBERS) expect(rows[0]!.public_jwk).not.toHaveProperty(member);
  });

  it('serves the same metadata at the OpenID and RFC 8414 well-known paths', async () => {
    const oidc = await (await fetch(`${server.url}/.well-known/openid-configuration`)).json();
    const oauth = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, string[]>;
    expect(oauth).toEqual(oidc);
    expect(oauth).toMatchObject({
      issuer: server.config.issuer,
      token_endpoint: `${server.config.issuer}/token`,
      introspection_endpoint: `${server.config.issuer}/token/introspection`,
      revocation_endpoint: `${server.config.issuer}/token/revocation`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']),
    });
    expect(oauth.grant_types_supported).not.toContain('implicit');
    expect(oauth.grant_types_supported).not.toContain('password');
    expect(oauth.token_endpoint_auth_methods_supported).not.toContain('client_secret_jwt');
  });

  it('behaves as one server across instances on the same storage', async () => {
    const other = await server.sibling();
    try {
      const user = await createUser(server);
      const client = await createTestClient(server);
      const tokens = await obtainTokens(server, client, user);
      expect((await introspect(other, client, tokens.access_token)).body.active).toBe(true);
      const rotated = await refresh(other, client, tokens.refresh_token);
      expect(rotated.status).toBe(200);
      expect((await refresh(server, client, rotated.body.refresh_token as string)).status).toBe(200);
      expect(await (await fetch(`${other.url}/jwks`)).json()).toEqual(await (await fetch(`${server.url}/jwks`)).json());
    } finally {
      await other.stop();
    }
  });
});

describe('RS256 when configured', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('embedded', { SIGNING_KEY_ALG: 'RS256' });
  });
  afterAll(() => server?.stop());

  it('signs ID tokens with an RSA key whose private parts stay private', async () => {
    const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256' });
    for (const member of PRIVATE_MEMBERS) expect(jwks.keys[0]).not.toHaveProperty(member);
    const tokens = await obtainTokens(server, await createTestClient(server), await createUser(server));
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');
    await jwtVerify(tokens.id_token!, createLocalJWKSet(jwks as never));
  });
});
