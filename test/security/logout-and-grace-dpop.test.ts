// Two holes closed: an access token issued without a refresh token (no family, so nothing revokes it) still worked
// at userinfo after logout everywhere; and a DPoP proof replayed on the refresh grace path was accepted.
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

import { adminCall, adminToken } from '../admin/helpers.js';
import { authorize, createTestClient, createUser, obtainTokens, refresh, type User } from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

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

const userinfo = (server: TestServer, accessToken: string) =>
  fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } });

describe.each(MODES)('logout everywhere and DPoP on the grace path (%s storage)', (mode) => {
  let server: TestServer;
  let user: User;
  beforeAll(async () => {
    server = await startServer(mode, { REFRESH_REUSE_GRACE_SECONDS: '30' });
    user = await createUser(server);
  });
  afterAll(() => server?.stop());

  it('refuses at /me an access token issued without a refresh token, once its account is logged out everywhere', async () => {
    const client = await createTestClient(server);
    const { access_token: familyless, refresh_token: none } = await obtainTokens(server, client, user, {
      scope: 'openid profile',
    });
    expect(none).toBeUndefined(); // no offline_access: no refresh token, no family
    const before = await userinfo(server, familyless);
    expect(before.status).toBe(200);
    expect(((await before.json()) as { sub: string }).sub).toBe(user.id);

    await new Promise((r) => setTimeout(r, 1100)); // not-before has one-second resolution, on the safe side
    const { token } = await adminToken(server);
    expect((await adminCall(server, 'DELETE', `/admin/users/${user.id}/sessions`, { token })).status).toBe(204);

    const after = await userinfo(server, familyless);
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    // A token issued after the logout (in a later second) works.
    await new Promise((r) => setTimeout(r, 1100));
    const fresh = await obtainTokens(server, client, user, { scope: 'openid profile' });
    expect((await userinfo(server, fresh.access_token)).status).toBe(200);
  });

  it('refuses a replayed DPoP proof on the grace path exactly as on the normal path', async () => {
    const spa = await createTestClient(server, { public: true, redirectUris: ['https://spa.example.com/cb'] });
    const key = await proofKey();
    const htu = `${server.config.issuer}/token`;
    const bound = async () => {
      const { code, verifier } = await authorize(server, spa, user);
      const tokens = (await fetch(`${server.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: await proof(key, htu) },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          code_verifier: verifier,
          redirect_uri: 'https://spa.example.com/cb',
          client_id: spa.client_id,
        }),
      }).then((r) => r.json())) as Record<string, string>;
      expect(tokens.token_type).toBe('DPoP');
      return tokens.refresh_token!;
    };
    const [token, other] = [await bound(), await bound()];

    const once = await proof(key, htu);
    const first = await refresh(server, spa, token, { dpop: once });
    expect(first.status).toBe(200);
    // The normal path: another live token with the spent proof is refused.
    const normal = await refresh(server, spa, other, { dpop: once });
    expect(normal.status).toBe(400);
    expect(normal.body).toEqual({ error: 'invalid_grant', error_description: expect.stringMatching(/replay/i) });
    // The grace path: the same token inside the window, with the spent proof, is refused the same way.
    const replayed = await refresh(server, spa, token, { dpop: once });
    expect(replayed.status).toBe(400);
    expect(replayed.body).toEqual(normal.body);
    // Without a proof, as on the normal path: refused.
    expect((await refresh(server, spa, token)).status).toBe(400);
    // With a fresh proof of the bound key: the grace path answers the first response again.
    const graced = await refresh(server, spa, token, { dpop: await proof(key, htu) });
    expect(graced.status).toBe(200);
    expect(graced.body.refresh_token).toBe(first.body.refresh_token);
  });
});
