// private_key_jwt client authentication (RFC 7523, OpenID Connect Core §9): clients registered with their public
// keys (a JWKS file from the CLI, inline through the admin API, or a jwks_uri), authenticating with openid-client;
// a client assertion is single use, across instances.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import * as oidc from 'openid-client';

import { adminCall, adminToken } from '../admin/helpers.js';
import { runCli, stopAllProcesses } from '../support/process.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

interface KeyPair {
  privateKey: CryptoKey;
  jwk: JWK;
}

async function keyPair(): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: randomUUID(), alg: 'ES256', use: 'sig' } };
}

const assertion = (server: TestServer, clientId: string, key: KeyPair, jti = randomUUID()) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: key.jwk.kid! })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(server.config.issuer)
    .setJti(jti)
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(key.privateKey);

async function tokenWithAssertion(server: TestServer, clientId: string, jwt: string) {
  const res = await fetch(`${server.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: jwt,
    }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const clientCredentials = async (server: TestServer, clientId: string, key: KeyPair) => {
  const config = await oidc.discovery(
    new URL(server.url),
    clientId,
    undefined,
    oidc.PrivateKeyJwt({ key: key.privateKey, kid: key.jwk.kid! }),
    { execute: [oidc.allowInsecureRequests] },
  );
  return oidc.clientCredentialsGrant(config);
};

describe.each(MODES)('private_key_jwt clients (%s)', (mode) => {
  let server: TestServer;
  let jwksServer: Server;
  let served: { keys: JWK[] } = { keys: [] };
  beforeAll(async () => {
    server = await startServer(mode);
    jwksServer = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(served));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    await stopAllProcesses();
    await new Promise((r) => jwksServer?.close(r));
    await server?.stop();
  });

  it('registers with --jwks-file from the CLI (no secret) and authenticates with openid-client', async () => {
    const key = await keyPair();
    const file = join(tmpdir(), `jwks-${randomUUID()}.json`);
    await writeFile(file, JSON.stringify({ keys: [key.jwk] }));
    const res = await runCli(
      [
        'clients',
        'create',
        '--name',
        'Signed',
        '--grant-types',
        'client_credentials',
        '--scopes',
        'openid',
        '--auth-method',
        'private_key_jwt',
        '--jwks-file',
        file,
      ],
      { env: server.env },
    );
    expect(res.code).toBe(0);
    const client = res.json as Record<string, any>;
    expect(client).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [expect.objectContaining({ kid: key.jwk.kid })] },
    });
    expect(client.client_secret).toBeUndefined();
    const tokens = await clientCredentials(server, client.client_id, key);
    expect(tokens.access_token).toEqual(expect.any(String));
    // Another key is refused.
    const stranger = await keyPair();
    const refused = await tokenWithAssertion(
      server,
      client.client_id,
      await assertion(server, client.client_id, { ...stranger, jwk: { ...stranger.jwk, kid: key.jwk.kid } }),
    );
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('invalid_client');
  });

  it('refuses a replayed client assertion', async () => {
    const key = await keyPair();
    const { token } = await adminToken(server);
    const created = await adminCall(server, 'POST', '/admin/clients', {
      token,
      body: {
        name: 'Signed API client',
        grant_types: ['client_credentials'],
        scope: 'openid',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [key.jwk] },
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.client_secret).toBeUndefined();
    const jwt = await assertion(server, created.body.client_id, key);
    expect((await tokenWithAssertion(server, created.body.client_id, jwt)).status).toBe(200);
    const replay = await tokenWithAssertion(server, created.body.client_id, jwt);
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({ error: 'invalid_client' });

    if (mode === 'external') {
      // Single use across instances: a second instance on the same storage refuses it too.
      const sibling = await server.sibling();
      try {
        const fresh = await assertion(server, created.body.client_id, key);
        expect((await tokenWithAssertion(server, created.body.client_id, fresh)).status).toBe(200);
        expect((await tokenWithAssertion(sibling, created.body.client_id, fresh)).status).toBe(401);
      } finally {
        await sibling.stop();
      }
    }
  });

  it('fetches keys from a jwks_uri (loopback allowed in development)', async () => {
    const key = await keyPair();
    served = { keys: [key.jwk] };
    const uri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
    const res = await runCli(
      [
        'clients',
        'create',
        '--name',
        'Remote keys',
        '--grant-types',
        'client_credentials',
        '--scopes',
        'openid',
        '--auth-method',
        'private_key_jwt',
        '--jwks-uri',
        uri,
      ],
      { env: server.env },
    );
    expect(res.code).toBe(0);
    const client = res.json as Record<string, any>;
    expect(client.jwks_uri).toBe(uri);
    expect((await clientCredentials(server, client.client_id, key)).access_token).toEqual(expect.any(String));
  });

  it('refuses bad key registrations with a clear error', async () => {
    const key = await keyPair();
    const { token } = await adminToken(server);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ token_endpoint_auth_method: 'private_key_jwt' }, /exactly one of a jwks_uri and a jwks/],
      [
        { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...key.jwk, d: 'secret' }] } },
        /public keys only/,
      ],
      [
        { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'http://keys.example.com/jwks' },
        /jwks_uri must use https/,
      ],
      [{ jwks: { keys: [key.jwk] } }, /for private_key_jwt clients/],
    ];
    for (const [extra, message] of cases) {
      const res = await adminCall(server, 'POST', '/admin/clients', {
        token,
        body: { name: 'Bad', grant_types: ['client_credentials'], scope: 'openid', ...extra },
      });
      expect({ status: res.status, description: res.body.error_description }).toEqual({
        status: 400,
        description: expect.stringMatching(message),
      });
    }
    const cli = await runCli(
      ['clients', 'create', '--name', 'X', '--auth-method', 'private_key_jwt', '--jwks-file', '/nonexistent.json'],
      { env: server.env },
    );
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/cannot read --jwks-file/);
  });
});
