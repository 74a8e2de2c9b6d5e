// Dynamic client registration (RFC 7591) and its management (RFC 7592), with openid-client as the registering
// client: an initial access token issued by an admin (admin API and CLI), the registration policy, hashes at
// rest, the audit trail, and a registered client completing the code flow.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';

import { adminCall, adminToken } from '../admin/helpers.js';
import { Browser } from '../support/browser.js';
import { createUser, tokenRequest, type User } from '../support/oauth.js';
import { signInAt } from '../support/pages.js';
import { runCliInProcess } from '../support/cli.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

const WEB_CB = 'https://app.example.com/cb';

async function register(server: TestServer, metadata: Record<string, unknown>, token?: string) {
  const res = await fetch(`${server.url}/reg`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(metadata),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

async function manage(method: string, uri: string, rat: string, body?: unknown) {
  const res = await fetch(uri, {
    method,
    headers: {
      accept: 'application/json',
      authorization: `Bearer ${rat}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Record<string, any> };
}

describe.each(MODES)('dynamic client registration (%s)', (mode) => {
  let server: TestServer;
  let admin: string;
  let user: User;
  const issueToken = async (body: Record<string, unknown> = {}) => {
    const res = await adminCall(server, 'POST', '/admin/registration-tokens', { token: admin, body });
    expect(res.status).toBe(201);
    return res.body as { token: string; expires_at: string; max_uses: number };
  };

  beforeAll(async () => {
    server = await startServer(mode);
    admin = (await adminToken(server)).token;
    user = await createUser(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('advertises the registration endpoint', async () => {
    const meta = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(meta.registration_endpoint).toBe(`${server.config.issuer}/reg`);
  });

  it('registers a client with an initial access token (openid-client), which then completes the code flow', async () => {
    const { token, expires_at, max_uses } = await issueToken({ expires_in: 600 });
    expect(max_uses).toBe(1);
    expect(Date.parse(expires_at) - Date.now()).toBeGreaterThan(590_000);

    const config = await oidc.dynamicClientRegistration(
      new URL(server.url),
      {
        client_name: 'Registered app',
        redirect_uris: [WEB_CB],
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: ['authorization_code', 'refresh_token'],
      },
      undefined,
      { initialAccessToken: token, execute: [oidc.allowInsecureRequests] },
    );
    const meta = config.clientMetadata();
    expect(meta.client_secret).toEqual(expect.any(String));
    expect(meta.registration_access_token).toEqual(expect.any(String));
    expect(meta.scope).toBe('openid offline_access profile email'); // pinned by the policy

    // Hashed at rest: the client secret, the initial access token and the registration access token.
    const row = await server.db.prisma.client.findUniqueOrThrow({
      where: { clientId: config.clientMetadata().client_id },
    });
    expect(row.secretHash).toBe(server.hash(meta.client_secret!));
    expect(JSON.stringify(row.metadata)).not.toContain(meta.client_secret);
    expect(row.isAdmin).toBe(false);
    expect(await server.db.prisma.registrationToken.findUnique({ where: { id: server.hash(token) } })).toMatchObject({
      uses: 1,
    });
    expect(await server.db.prisma.registrationToken.count({ where: { id: token } })).toBe(0);
    const rat = meta.registration_access_token as string;
    expect(
      await server.db.prisma.oidcPayload.count({ where: { model: 'RegistrationAccessToken', id: server.hash(rat) } }),
    ).toBe(1);
    expect(await server.db.prisma.oidcPayload.count({ where: { id: rat } })).toBe(0);

    const events = await server.db.prisma.auditEvent.findMany({
      where: { clientId: meta.client_id, type: 'client.registered' },
    });
    expect(events).toHaveLength(1);
    expect(events[0]!.detail).toMatchObject({ via: 'registration' });

    // The registered client signs a user in with code + PKCE and gets a refresh token.
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: WEB_CB,
      scope: 'openid offline_access',
      state,
      prompt: 'consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const walked = await signInAt(new Browser(server.url), url.href, user);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(walked.url), {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.claims()?.sub).toBe(user.id);
  });

  it('refuses a registration without a token, with a used-up token, or an unknown one', async () => {
    const none = await register(server, { redirect_uris: [WEB_CB] });
    expect(none.status).toBe(401);
    expect(none.body.error).toBe('invalid_token');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);

    const { token } = await issueToken();
    expect((await register(server, { redirect_uris: [WEB_CB] }, token)).status).toBe(201);
    const again = await register(server, { redirect_uris: [WEB_CB] }, token);
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({
      error: 'invalid_token',
      error_description: 'the initial access token is invalid, expired or used up',
    });
    expect((await register(server, { redirect_uris: [WEB_CB] }, 'x'.repeat(43))).status).toBe(401);
  });

  it('refuses policy-breaking requests, and gives the token use back', async () => {
    const { token } = await issueToken();
    const refusals: [Record<string, unknown>, string, RegExp][] = [
      [{ redirect_uris: ['http://app.example.com/cb'] }, 'invalid_redirect_uri', /https/],
      [{ redirect_uris: ['http://127.0.0.1:8080/cb'] }, 'invalid_redirect_uri', /application_type native/],
      [{ redirect_uris: [WEB_CB], scope: 'openid admin' }, 'invalid_client_metadata', /scope "admin"/],
      [{ redirect_uris: [WEB_CB], scope: 'openid payments:write' }, 'invalid_client_metadata', /payments:write/],
      [{ redirect_uris: [WEB_CB], grant_types: ['authorization_code', 'implicit'] }, 'invalid_client_metadata', /.+/],
      [{ redirect_uris: [WEB_CB], grant_types: ['refresh_token'] }, 'invalid_client_metadata', /grant_types/],
      [
        { grant_types: ['client_credentials'], token_endpoint_auth_method: 'none' },
        'invalid_client_metadata',
        /must authenticate/,
      ],
      [{ redirect_uris: [WEB_CB], response_types: ['code id_token'] }, 'invalid_client_metadata', /.+/],
      [
        {
          redirect_uris: [WEB_CB],
          jwks_uri: 'http://keys.example.com/jwks.json',
          token_endpoint_auth_method: 'private_key_jwt',
        },
        'invalid_client_metadata',
        /jwks_uri must use https/,
      ],
    ];
    for (const [metadata, error, description] of refusals) {
      const res = await register(server, metadata, token);
      expect({ metadata, status: res.status, error: res.body.error }).toEqual({ metadata, status: 400, error });
      expect(res.body.error_description).toMatch(description);
    }
    // None of them spent the single use.
    const native = await register(
      server,
      {
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1:8080/cb', 'com.example.app:/cb'],
        token_endpoint_auth_method: 'none',
      },
      token,
    );
    expect(native.status).toBe(201);
    expect(native.body.client_secret).toBeUndefined();
  });

  it('registers a client_credentials client that gets no API and no admin scope', async () => {
    const { token } = await issueToken();
    const res = await register(server, { grant_types: ['client_credentials'], client_name: 'Machine' }, token);
    expect(res.status).toBe(201);
    expect(res.body.response_types).toEqual([]);
    const client = { client_id: res.body.client_id as string, client_secret: res.body.client_secret as string };
    expect((await tokenRequest(server, client, { grant_type: 'client_credentials' })).status).toBe(200);
    const adminScope = await tokenRequest(server, client, { grant_type: 'client_credentials', scope: 'admin' });
    expect(adminScope.status).toBe(400);
    expect(adminScope.body.error).toBe('invalid_scope');
  });

  it('reads, updates and deletes a registration with its registration access token (RFC 7592)', async () => {
    const { token } = await issueToken();
    const created = await register(server, { client_name: 'Managed', redirect_uris: [WEB_CB] }, token);
    expect(created.status).toBe(201);
    const { client_id, client_secret, registration_client_uri: uri, registration_access_token: rat } = created.body;
    expect(uri).toBe(`${server.config.issuer}/reg/${client_id}`);

    const read = await manage('GET', uri, rat);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ client_id, client_name: 'Managed', redirect_uris: [WEB_CB] });
    expect(read.body.client_secret).toBeUndefined(); // shown once, at registration
    expect(JSON.stringify(read.body)).not.toContain(server.hash(client_secret));

    expect((await manage('GET', uri, 'y'.repeat(43))).status).toBe(401);

    // An update repeating the secret (RFC 7592 §2.2) is compared with the stored hash; a wrong one is refused.
    const update = {
      client_id,
      client_secret,
      client_name: 'Managed v2',
      redirect_uris: [WEB_CB, 'https://app.example.com/cb2'],
      token_endpoint_auth_method: 'client_secret_basic',
    };
    const wrong = await manage('PUT', uri, rat, { ...update, client_secret: 'not-the-secret' });
    expect(wrong.status).toBe(400);
    const updated = await manage('PUT', uri, rat, update);
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      client_name: 'Managed v2',
      redirect_uris: [WEB_CB, 'https://app.example.com/cb2'],
    });
    expect(updated.body.client_secret).toBeUndefined();
    const rotated = updated.body.registration_access_token as string;
    expect(rotated).not.toBe(rat); // the old registration access token is replaced
    expect((await manage('GET', uri, rat)).status).toBe(401);
    // The policy applies to updates too.
    const bad = await manage('PUT', uri, rotated, { ...update, scope: 'admin' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_client_metadata');
    // The secret still authenticates (kept, not re-hashed).
    const cc = await tokenRequest(
      server,
      { client_id, client_secret },
      { grant_type: 'authorization_code', code: 'nope', code_verifier: 'x'.repeat(43), redirect_uri: WEB_CB },
    );
    expect(cc.body.error).toBe('invalid_grant');
    expect((await server.db.prisma.client.findUniqueOrThrow({ where: { clientId: client_id } })).name).toBe(
      'Managed v2',
    );

    const removed = await manage('DELETE', uri, rotated);
    expect(removed.status).toBe(204);
    expect(await server.db.prisma.client.count({ where: { clientId: client_id } })).toBe(0);
    const after = await tokenRequest(
      server,
      { client_id, client_secret },
      { grant_type: 'authorization_code', code: 'nope', code_verifier: 'x'.repeat(43), redirect_uri: WEB_CB },
    );
    expect(after.body.error).toBe('invalid_client');
    expect((await manage('GET', uri, rotated)).status).toBe(401);
    const types = (
      await server.db.prisma.auditEvent.findMany({ where: { clientId: client_id }, orderBy: { id: 'asc' } })
    ).map((e) => e.type);
    expect(types).toEqual(['client.registered', 'client.updated', 'client.deleted']);
  });

  it('issues initial access tokens from the CLI', async () => {
    const res = await runCliInProcess(['registration', 'token', 'create', '--expires-in', '120', '--max-uses', '2'], {
      env: server.env,
    });
    expect(res.code).toBe(0);
    const issued = res.json as { token: string; expires_at: string };
    expect(Date.parse(issued.expires_at) - Date.now()).toBeLessThanOrEqual(120_000);
    expect((await register(server, { redirect_uris: [WEB_CB] }, issued.token)).status).toBe(201);
    expect((await register(server, { redirect_uris: [WEB_CB] }, issued.token)).status).toBe(201);
    expect((await register(server, { redirect_uris: [WEB_CB] }, issued.token)).status).toBe(401);

    const bad = await runCliInProcess(['registration', 'token', 'create', '--max-uses', '0'], { env: server.env });
    expect(bad.code).not.toBe(0);
    expect(JSON.parse(bad.stderr.trim().split('\n').at(-1)!)).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringMatching(/max_uses/),
    });
  });
});

describe('REGISTRATION=open and off', () => {
  let open: TestServer;
  let off: TestServer;
  beforeAll(async () => {
    [open, off] = await Promise.all([
      startServer('external', { REGISTRATION: 'open' }),
      startServer('embedded', { REGISTRATION: 'off' }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([open?.stop(), off?.stop()]);
  });

  it('open: registers without a token, under the same policy', async () => {
    expect((await register(open, { redirect_uris: [WEB_CB] })).status).toBe(201);
    const bad = await register(open, { redirect_uris: ['http://app.example.com/cb'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_redirect_uri');
  });

  it('off: no registration endpoint', async () => {
    const meta = (await (await fetch(`${off.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(meta.registration_endpoint).toBeUndefined();
    const res = await fetch(`${off.url}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(404);
  });
});
