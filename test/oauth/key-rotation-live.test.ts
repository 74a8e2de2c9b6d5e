// Signing keys rotated without a restart: the next key is published in the JWKS of every instance at once
// (announced through the store), and every instance signs with it after KEY_ACTIVATION_DELAY_SECONDS; the key it
// replaces stays published, so what it signed keeps verifying.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';

import { adminToken } from '../admin/helpers.js';
import { createTestClient, createUser, obtainTokens, refresh, type User } from '../support/oauth.js';
import { runCliInProcess } from '../support/cli.js';
import { MODES, startServer, type TestServer } from '../support/server.js';
import type { ClientView } from '../../src/clients/clients.js';

const DELAY = 6;

const jwksOf = async (server: TestServer) => (await (await fetch(`${server.url}/jwks`)).json()) as JSONWebKeySet;
const kidsOf = async (server: TestServer) => (await jwksOf(server)).keys.map((k) => k.kid);

/** Refreshes and returns the kid of the new ID token, and the next refresh token. */
async function signedKid(
  server: TestServer,
  client: ClientView,
  refreshToken: string,
): Promise<{ kid: string | undefined; next: string; idToken: string }> {
  const res = await refresh(server, client, refreshToken);
  expect(res.status).toBe(200);
  return {
    kid: decodeProtectedHeader(res.body.id_token as string).kid,
    next: res.body.refresh_token as string,
    idToken: res.body.id_token as string,
  };
}

const until = async (at: number) => {
  const wait = at - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
};

describe.each(MODES)('live signing key rotation (%s)', (mode) => {
  let a: TestServer;
  let b: TestServer | undefined; // a second instance on the same storage (external only: embedded is one process)
  let client: ClientView;
  let user: User;

  beforeAll(async () => {
    a = await startServer(mode, { KEY_ACTIVATION_DELAY_SECONDS: String(DELAY) });
    if (mode === 'external') b = await a.sibling();
    client = await createTestClient(a);
    user = await createUser(a);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('publishes the next key everywhere at once and signs with it after the delay (admin API)', async () => {
    const instances = [a, ...(b ? [b] : [])];
    const first = await obtainTokens(a, client, user);
    const oldKid = decodeProtectedHeader(first.id_token!).kid!;
    const before = await kidsOf(a);
    const { token } = await adminToken(a);

    const res = await fetch(`${a.url}/admin/keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ alg: 'ES256' }),
    });
    expect(res.status).toBe(200);
    const [rotation] = (
      (await res.json()) as {
        keys: { alg: string; active_kid: string; retired_kids: string[]; activates_at: string }[];
      }
    ).keys;
    expect(rotation).toMatchObject({ alg: 'ES256', retired_kids: [oldKid] });
    const newKid = rotation!.active_kid;
    const activatesAt = Date.parse(rotation!.activates_at);
    expect(activatesAt - Date.now()).toBeGreaterThan((DELAY - 2) * 1000);

    // At once, on every instance: published, next to the key still signing; the RS256 key untouched.
    for (const server of instances) {
      let kids = await kidsOf(server);
      for (let i = 0; i < 40 && !kids.includes(newKid); i++)
        kids = await new Promise((r) => setTimeout(r, 50)).then(() => kidsOf(server));
      expect(kids).toEqual(expect.arrayContaining([...before, newKid]));
    }
    // Before the activation every instance still signs with the old key.
    let refreshToken = first.refresh_token;
    for (const server of instances) {
      const signed = await signedKid(server, client, refreshToken);
      refreshToken = signed.next;
      if (Date.now() < activatesAt - 500) expect(signed.kid).toBe(oldKid);
    }

    // After it, every instance signs with the new key, and a token signed with the old one still verifies.
    await until(activatesAt + 300);
    for (const server of instances) {
      const signed = await signedKid(server, client, refreshToken);
      refreshToken = signed.next;
      expect(signed.kid).toBe(newKid);
      const jwks = await jwksOf(server);
      expect(jwks.keys.map((k) => k.kid)[0]).toBe(newKid); // the signing key first
      expect(jwks.keys.map((k) => k.kid)).toContain(oldKid); // the retired one still published
      await jwtVerify(first.id_token!, createLocalJWKSet(jwks), {
        issuer: a.config.issuer,
        audience: client.client_id,
      }); // issued by a (each instance here has its own port, so its own issuer)
      await jwtVerify(signed.idToken, createLocalJWKSet(jwks), {
        issuer: server.config.issuer,
        audience: client.client_id,
      });
    }
  });

  it('keys rotate (CLI) reaches running instances without a restart', async () => {
    const kidsBefore = await kidsOf(a);
    const rotated = await runCliInProcess(['keys', 'rotate', '--alg', 'RS256'], {
      env: { ...a.env, KEY_ACTIVATION_DELAY_SECONDS: '0' },
    });
    expect(rotated.code).toBe(0);
    const [rotation] = (rotated.json as { keys: { active_kid: string }[]; note: string }).keys;
    const newKid = rotation!.active_kid;
    if (mode === 'external') {
      expect((rotated.json as { note: string }).note).toMatch(/^announced/);
      for (const server of [a, b!]) {
        let kids = await kidsOf(server);
        for (let i = 0; i < 40 && !kids.includes(newKid); i++)
          kids = await new Promise((r) => setTimeout(r, 50)).then(() => kidsOf(server));
        expect(kids).toContain(newKid);
      }
    } else {
      // Embedded: no store to announce on; the server picks it up at its next reload (periodic; forced here).
      await a.signingKeys.reload();
      expect(await kidsOf(a)).toEqual(expect.arrayContaining([...kidsBefore, newKid]));
    }
  });
});
