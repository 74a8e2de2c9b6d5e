// Signing keys and metadata: an ES256 and an RS256 key on every install, ES256 by default, RS256 per client or when
// configured, private parts never published and sealed at rest, discovery at both well-known paths, and one server's tokens accepted by another instance.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

import type { ClientView } from '../../src/clients/clients.js';
import { adminCall, adminToken } from '../admin/helpers.js';
import { createTestClient, createUser, introspect, obtainTokens, REDIRECT_URI, refresh } from '../support/oauth.js';
import { runCliInProcess } from '../support/cli.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

describe.each(MODES)('signing keys on a fresh install (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(mode);
  });
  afterAll(() => server?.stop());

  it('publishes one public ES256 and one public RS256 key, ES256 first, and offers both for ID tokens', async () => {
    const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(2);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: expect.any(String) });
    expect(jwks.keys[1]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: expect.any(String) });
    for (const key of jwks.keys) for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);
    const metadata = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      string[]
    >;
    // OpenID Connect Discovery §3: id_token_signing_alg_values_supported MUST include RS256.
    expect(metadata.id_token_signing_alg_values_supported).toEqual(expect.arrayContaining(['RS256', 'ES256']));
  });

  it('signs ID tokens with ES256 unless the client chose RS256 (CLI at creation, admin API later)', async () => {
    const jwks = createLocalJWKSet((await (await fetch(`${server.url}/jwks`)).json()) as never);
    const user = await createUser(server);
    const byDefault = await createTestClient(server);
    const tokens = await obtainTokens(server, byDefault, user);
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('ES256');
    const { payload } = await jwtVerify(tokens.id_token!, jwks, {
      issuer: server.config.issuer,
      audience: byDefault.client_id,
    });
    expect(payload.sub).toBe(user.id);

    const created = await runCliInProcess(
      [
        'clients',
        'create',
        '--name',
        'RSA RP',
        '--redirect-uri',
        REDIRECT_URI,
        '--id-token-signed-response-alg',
        'RS256',
      ],
      { env: server.env },
    );
    expect(created.code).toBe(0);
    const rsa = created.json as ClientView;
    expect(rsa.id_token_signed_response_alg).toBe('RS256');
    const rsaTokens = await obtainTokens(server, rsa, user);
    expect(decodeProtectedHeader(rsaTokens.id_token!).alg).toBe('RS256');
    await jwtVerify(rsaTokens.id_token!, jwks, {
      issuer: server.config.issuer,
      audience: rsa.client_id,
      algorithms: ['RS256'],
    });

    const { token } = await adminToken(server);
    const patched = await adminCall(server, 'PATCH', `/admin/clients/${byDefault.client_id}`, {
      token,
      body: { id_token_signed_response_alg: 'RS256' },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.id_token_signed_response_alg).toBe('RS256');
    const later = await obtainTokens(server, byDefault, user);
    expect(decodeProtectedHeader(later.id_token!).alg).toBe('RS256');

    const refused = await adminCall(server, 'POST', '/admin/clients', {
      token,
      body: { name: 'x', redirect_uris: [REDIRECT_URI], id_token_signed_response_alg: 'HS256' },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_request');
    const refusedCli = await runCliInProcess(
      ['clients', 'create', '--name', 'x', '--redirect-uri', REDIRECT_URI, '--id-token-signed-response-alg', 'none'],
      { env: server.env },
    );
    expect(refusedCli.code).not.toBe(0);
    expect(refusedCli.stdout + refusedCli.stderr).toContain('id_token_signed_response_alg');
  });

  it('keeps both private keys sealed in the database', async () => {
    const rows = await server.db.sql.query<{ alg: string; private_jwk: string; public_jwk: Record<string, unknown> }>(
      'SELECT alg, private_jwk, public_jwk FROM signing_keys ORDER BY alg',
    );
    expect(rows.map((r) => r.alg)).toEqual(['ES256', 'RS256']);
    for (const row of rows) {
      expect(row.private_jwk).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(row.private_jwk).not.toContain('"d"');
      for (const member of PRIVATE_MEMBERS) expect(row.public_jwk).not.toHaveProperty(member);
    }
  });
});

describe('ES256 by default', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external');
  });
  afterAll(() => server?.stop());

  it('serves the same metadata at the OpenID and RFC 8414 well-known paths', async () => {
    const oidc = await (await fetch(`${server.url}/.well-known/openid-configuration`)).json();
    const oauth = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      string[]
    >;
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
    expect(jwks.keys.map((k) => k.alg)).toEqual(['RS256', 'ES256']);
    for (const key of jwks.keys) for (const member of PRIVATE_MEMBERS) expect(key).not.toHaveProperty(member);
    const tokens = await obtainTokens(server, await createTestClient(server), await createUser(server));
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');
    await jwtVerify(tokens.id_token!, createLocalJWKSet(jwks as never));
  });
});
