// Sender-constrained tokens (DPoP, RFC 9449) and pushed authorization requests (PAR, RFC 9126).
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

import { Browser, parseForm, pkce } from '../support/browser.js';
import {
  authorize,
  createTestClient,
  createUser,
  exchangeCode,
  introspect,
  refresh,
  type User,
} from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';

interface ProofKey {
  privateKey: CryptoKey;
  jwk: JWK;
}

async function proofKey(): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, jwk: await exportJWK(publicKey) };
}

const proof = (key: ProofKey, htu: string) =>
  new SignJWT({ htm: 'POST', htu, jti: randomUUID() })
    .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk })
    .setIssuedAt()
    .sign(key.privateKey);

describe('DPoP-bound refresh tokens for public clients', () => {
  let server: TestServer;
  let user: User;
  beforeAll(async () => {
    server = await startServer('external');
    user = await createUser(server);
  });
  afterAll(() => server?.stop());

  it('binds the refresh token to the proof key and refuses it without that key', async () => {
    const spa = await createTestClient(server, { public: true, redirectUris: ['https://spa.example.com/cb'] });
    const key = await proofKey();
    const htu = `${server.config.issuer}/token`;
    const { code, verifier } = await authorize(server, spa, user);
    const tokens = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await proof(key, htu) },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: 'https://spa.example.com/cb',
        client_id: spa.client_id,
      }),
    }).then((r) => r.json() as Promise<Record<string, string>>);
    expect(tokens.token_type).toBe('DPoP');

    const bare = await refresh(server, spa, tokens.refresh_token!);
    expect(bare.status).toBe(400);
    expect(bare.body.error).toBe('invalid_grant');

    const stranger = await refresh(server, spa, tokens.refresh_token!, { dpop: await proof(await proofKey(), htu) });
    expect(stranger.status).toBe(400);

    const owner = await refresh(server, spa, tokens.refresh_token!, { dpop: await proof(key, htu) });
    expect(owner.status).toBe(200);
    expect(owner.body.token_type).toBe('DPoP');
    const confidential = await createTestClient(server);
    expect((await introspect(server, confidential, owner.body.access_token as string)).body).toEqual({ active: false });
  });

  it('refuses a replayed proof, even when the replays race', async () => {
    const spa = await createTestClient(server, { public: true, redirectUris: ['https://spa.example.com/cb'] });
    const key = await proofKey();
    const once = await proof(key, `${server.config.issuer}/token`);
    const send = async () => {
      const { code, verifier } = await authorize(server, spa, user); // a fresh code each time: only the proof repeats
      return fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: once },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          code_verifier: verifier,
          redirect_uri: 'https://spa.example.com/cb',
          client_id: spa.client_id,
        }),
      });
    };
    expect((await send()).status).toBe(200);
    const replay = await send();
    expect(replay.status).toBe(400);
    expect(await replay.json()).toEqual({ error: 'invalid_grant', error_description: 'grant request is invalid' });

    const racing = await proof(key, `${server.config.issuer}/token`);
    const codes = await Promise.all([1, 2, 3, 4, 5, 6].map(() => authorize(server, spa, user)));
    const statuses = await Promise.all(
      codes.map(({ code, verifier }) =>
        fetch(`${server.url}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: racing },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            code_verifier: verifier,
            redirect_uri: 'https://spa.example.com/cb',
            client_id: spa.client_id,
          }),
        }).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
  });
});

describe('pushed authorization requests', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external');
  });
  afterAll(() => server?.stop());

  it('is required from a client registered to require it, and works end to end', async () => {
    const client = await createTestClient(server);
    const row = await server.db.prisma.client.findUniqueOrThrow({ where: { clientId: client.client_id } });
    await server.db.prisma.client.update({
      where: { clientId: client.client_id },
      data: { metadata: { ...(row.metadata as object), require_pushed_authorization_requests: true } },
    });
    const user = await createUser(server);

    // A plain authorization request is refused.
    await expect(authorize(server, client, user)).rejects.toThrow(/no code/);

    const { verifier, challenge } = pkce();
    const pushed = await fetch(`${server.url}/request`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        client_id: client.client_id,
        response_type: 'code',
        redirect_uri: client.redirect_uris[0]!,
        scope: 'openid offline_access',
        prompt: 'consent',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 'par-state',
      }),
    });
    expect(pushed.status).toBe(201);
    const { request_uri } = (await pushed.json()) as { request_uri: string };
    expect(request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:/);

    const browser = new Browser(server.url);
    let { res, url } = await browser.follow(
      await browser.get(`${server.url}/auth?${new URLSearchParams({ client_id: client.client_id, request_uri })}`),
    );
    for (let step = 0; step < 3 && res.status === 200; step++) {
      const form = parseForm(await res.text());
      const fields: Record<string, string> = form.inputs.includes('password')
        ? { username: user.username, password: user.password }
        : { decision: 'allow' };
      ({ res, url } = await browser.follow(await browser.postForm(new URL(form.action!, url).toString(), fields)));
    }
    const code = new URL(url).searchParams.get('code')!;
    expect(new URL(url).searchParams.get('state')).toBe('par-state');
    expect((await exchangeCode(server, client, code, verifier)).status).toBe(200);
  });
});
