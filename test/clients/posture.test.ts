// Per-client FAPI 2.0 posture: require_pushed_authorization_requests (RFC 9126) and DPoP-bound access tokens
// (RFC 9449), set from the CLI and the admin API, and enforced.
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

import type { ClientView } from '../../src/clients/clients.js';
import { adminCall, adminToken } from '../admin/helpers.js';
import { Browser, pkce } from '../support/browser.js';
import { authorizationUrl, tokenRequest } from '../support/oauth.js';
import { runCli, stopAllProcesses } from '../support/process.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

describe.each(MODES)('per-client PAR and DPoP posture (%s)', (mode) => {
  let server: TestServer;
  let admin: string;
  beforeAll(async () => {
    server = await startServer(mode);
    admin = (await adminToken(server)).token;
  });
  afterAll(async () => {
    await stopAllProcesses();
    await server?.stop();
  });

  it('require_pushed_authorization_requests (CLI): /auth without PAR is refused, with PAR accepted', async () => {
    const res = await runCli(
      [
        'clients',
        'create',
        '--name',
        'FAPI',
        '--redirect-uri',
        'https://fapi.example.com/cb',
        '--require-pushed-authorization-requests',
      ],
      { env: server.env },
    );
    expect(res.code).toBe(0);
    const client = res.json as ClientView;
    expect(client.require_pushed_authorization_requests).toBe(true);
    const { challenge } = pkce();
    const direct = await new Browser(server.url).get(authorizationUrl(server, client, challenge));
    // Refused back at the client's redirect_uri (RFC 9126 §5), not signed in.
    expect(direct.status).toBe(303);
    const refused = new URL(direct.headers.get('location')!);
    expect(refused.origin + refused.pathname).toBe('https://fapi.example.com/cb');
    expect(refused.searchParams.get('error')).toBe('invalid_request');
    expect(refused.searchParams.get('error_description')).toMatch(/pushed authorization request/i);

    const par = await fetch(`${server.url}/request`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        client_id: client.client_id,
        response_type: 'code',
        redirect_uri: 'https://fapi.example.com/cb',
        scope: 'openid',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 's',
      }),
    });
    const parBody = (await par.json()) as { request_uri: string };
    expect({ status: par.status, body: parBody }).toEqual({
      status: 201,
      body: expect.objectContaining({ request_uri: expect.any(String) }),
    });
    const { request_uri } = parBody;
    const viaPar = await new Browser(server.url).get(
      `${server.url}/auth?${new URLSearchParams({ client_id: client.client_id, request_uri })}`,
    );
    expect(viaPar.status).toBe(303);
    expect(new URL(viaPar.headers.get('location')!, server.url).pathname).toMatch(/^\/interaction\//); // on to sign-in
  });

  it('dpop_bound_access_tokens (admin API): a token request without a DPoP proof is refused, with one it gets a DPoP token', async () => {
    const created = await adminCall(server, 'POST', '/admin/clients', {
      token: admin,
      body: { name: 'Bound', grant_types: ['client_credentials'], scope: 'openid', dpop_bound_access_tokens: true },
    });
    expect(created.status).toBe(201);
    expect(created.body.dpop_bound_access_tokens).toBe(true);
    const client = created.body as ClientView;
    const bare = await tokenRequest(server, client, { grant_type: 'client_credentials' });
    expect(bare.status).toBe(400);
    expect(bare.body.error).toBe('invalid_grant'); // oidc-provider: "DPoP proof JWT not provided" (in its log detail)

    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const proof = await new SignJWT({ htm: 'POST', htu: `${server.config.issuer}/token`, jti: randomUUID() })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(publicKey) })
      .setIssuedAt()
      .sign(privateKey);
    const bound = await tokenRequest(server, client, { grant_type: 'client_credentials' }, { dpop: proof });
    expect(bound.status).toBe(200);
    expect(bound.body.token_type).toBe('DPoP');

    // PATCH turns it off again.
    const patched = await adminCall(server, 'PATCH', `/admin/clients/${client.client_id}`, {
      token: admin,
      body: { dpop_bound_access_tokens: false },
    });
    expect(patched.body.dpop_bound_access_tokens).toBeUndefined();
    expect((await tokenRequest(server, client, { grant_type: 'client_credentials' })).status).toBe(200);
  });
});
