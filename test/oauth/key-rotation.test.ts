// `keys rotate`: a new key becomes active; the old one stays published, so a token signed before the rotation
// still verifies against the JWKS; once nothing it signed can be alive, it is no longer published.
import { afterAll, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';

import { createTestClient, createUser, obtainTokens } from '../support/oauth.js';
import { runCli } from '../support/process.js';
import { createStorage, startOn, type Storage } from '../support/server.js';

describe('signing key rotation', () => {
  let storage: Storage;
  afterAll(() => storage?.cleanup());

  it('activates a new key and keeps the old one published for the tokens it signed', async () => {
    storage = await createStorage('external');
    const before = await startOn(storage, {});
    const client = await createTestClient(before);
    const user = await createUser(before);
    const old = await obtainTokens(before, client, user);
    const oldKid = decodeProtectedHeader(old.id_token!).kid;
    const samePort = { PORT: String(before.config.port) }; // same issuer across restarts
    await before.stop();

    const rotated = await runCli(['keys', 'rotate'], { env: storage.env });
    expect(rotated.code).toBe(0);
    expect(rotated.json).toMatchObject({ alg: 'ES256', retired_kids: [oldKid], active_kid: expect.any(String) });
    const newKid = (rotated.json as { active_kid: string }).active_kid;
    expect(newKid).not.toBe(oldKid);

    const after = await startOn(storage, samePort);
    try {
      const jwks = (await (await fetch(`${after.url}/jwks`)).json()) as JSONWebKeySet;
      expect(jwks.keys.map((k) => k.kid)).toEqual([newKid, oldKid]);
      const fresh = await obtainTokens(after, client, user);
      expect(decodeProtectedHeader(fresh.id_token!).kid).toBe(newKid);
      // The token signed before the rotation still verifies against the published keys.
      await jwtVerify(old.id_token!, createLocalJWKSet(jwks), { issuer: after.config.issuer, audience: client.client_id });
      await jwtVerify(fresh.id_token!, createLocalJWKSet(jwks), { issuer: after.config.issuer, audience: client.client_id });

      // Long after the retirement (nothing it signed can still be valid), the old key is dropped from the JWKS.
      await after.db.sql.query("UPDATE signing_keys SET retired_at = now() - interval '2 days' WHERE kid = $1", [oldKid]);
    } finally {
      await after.stop();
    }
    const later = await startOn(storage, samePort);
    try {
      const jwks = (await (await fetch(`${later.url}/jwks`)).json()) as JSONWebKeySet;
      expect(jwks.keys.map((k) => k.kid)).toEqual([newKid]);
    } finally {
      await later.stop();
    }
  }, 90_000);
});
