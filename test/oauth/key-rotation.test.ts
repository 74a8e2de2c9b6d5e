// `keys rotate`: a new key becomes active; the old one stays published, so a token signed before the rotation
// still verifies against the JWKS; once nothing it signed can be alive, it is no longer published.
import { afterAll, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';

import { createTestClient, createUser, obtainTokens } from '../support/oauth.js';
import { runCliInProcess } from '../support/cli.js';
import { createStorage, MODES, startOn, type Storage } from '../support/server.js';

describe.each(MODES)('signing key rotation (%s storage)', (mode) => {
  let storage: Storage;
  afterAll(() => storage?.cleanup());

  it('activates a new key and keeps the old one published for the tokens it signed', async () => {
    storage = await createStorage(mode);
    const before = await startOn(storage, {});
    const client = await createTestClient(before);
    const user = await createUser(before);
    const old = await obtainTokens(before, client, user);
    const oldKid = decodeProtectedHeader(old.id_token!).kid;
    const samePort = { PORT: String(before.config.port) }; // same issuer across restarts

    const oldKids = ((await (await fetch(`${before.url}/jwks`)).json()) as JSONWebKeySet).keys.map((k) => k.kid);
    expect(oldKids).toHaveLength(2);
    expect(oldKids[0]).toBe(oldKid);
    await before.stop();

    // Both algorithms rotate: the ES256 key (default) and the RS256 key.
    // No activation delay here: the new keys sign from the restart on (the delay is test/oauth/key-rotation-live.test.ts's).
    const rotated = await runCliInProcess(['keys', 'rotate'], {
      env: { ...storage.env, KEY_ACTIVATION_DELAY_SECONDS: '0' },
    });
    expect(rotated.code).toBe(0);
    const keys = (rotated.json as { keys: { alg: string; active_kid: string; retired_kids: string[] }[] }).keys;
    expect(keys).toEqual([
      { alg: 'ES256', active_kid: expect.any(String), retired_kids: [oldKids[0]], activates_at: expect.any(String) },
      { alg: 'RS256', active_kid: expect.any(String), retired_kids: [oldKids[1]], activates_at: expect.any(String) },
    ]);
    const newKid = keys[0]!.active_kid;
    const newRsaKid = keys[1]!.active_kid;
    expect(newKid).not.toBe(oldKid);

    const after = await startOn(storage, samePort);
    try {
      const jwks = (await (await fetch(`${after.url}/jwks`)).json()) as JSONWebKeySet;
      expect(jwks.keys.map((k) => k.kid).slice(0, 2)).toEqual([newKid, newRsaKid]);
      expect(new Set(jwks.keys.map((k) => k.kid).slice(2))).toEqual(new Set(oldKids));
      for (const key of jwks.keys)
        for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(member);
      const fresh = await obtainTokens(after, client, user);
      expect(decodeProtectedHeader(fresh.id_token!).kid).toBe(newKid);
      // The token signed before the rotation still verifies against the published keys.
      await jwtVerify(old.id_token!, createLocalJWKSet(jwks), {
        issuer: after.config.issuer,
        audience: client.client_id,
      });
      await jwtVerify(fresh.id_token!, createLocalJWKSet(jwks), {
        issuer: after.config.issuer,
        audience: client.client_id,
      });

      // Long after the retirement (nothing it signed can still be valid), the old key is dropped from the JWKS.
      await after.db.sql.query(
        "UPDATE signing_keys SET retired_at = now() - interval '2 days' WHERE retired_at IS NOT NULL",
      );
    } finally {
      await after.stop();
    }
    const later = await startOn(storage, samePort);
    try {
      const jwks = (await (await fetch(`${later.url}/jwks`)).json()) as JSONWebKeySet;
      expect(jwks.keys.map((k) => k.kid)).toEqual([newKid, newRsaKid]);
    } finally {
      await later.stop();
    }
  });
});
