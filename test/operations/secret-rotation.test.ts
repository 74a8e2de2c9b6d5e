// Rotating TOLLGATE_SECRET with live refresh tokens: with the old secret in TOLLGATE_SECRET_PREVIOUS everything
// sealed or hashed under it keeps working, `secrets reseal` moves the stored keys to the new secret, and then the
// old one can go. Nobody is signed out along the way.
import { afterAll, describe, expect, it } from '@jest/globals';
import { decodeProtectedHeader } from 'jose';

import { createTestClient, createUser, obtainTokens, refresh } from '../support/oauth.js';
import { runCliInProcess } from '../support/cli.js';
import { createStorage, MODES, startOn, type Storage, type TestServer } from '../support/server.js';

const secret = (name: string) => `${name}-${Math.random().toString(36).slice(2)}-0123456789abcdefghijklmnop`;
const kidsOf = async (server: TestServer) =>
  ((await (await fetch(`${server.url}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

describe.each(MODES)('root secret rotation (%s)', (mode) => {
  let storage: Storage;
  afterAll(() => storage?.cleanup());

  it('keeps live refresh tokens, client secrets and signing keys working through a rotation', async () => {
    storage = await createStorage(mode);
    const oldSecret = secret('old');
    const newSecret = secret('new');
    const first = await startOn(storage, { TOLLGATE_SECRET: oldSecret });
    const samePort = { PORT: String(first.config.port) }; // same issuer across restarts
    const client = await createTestClient(first);
    const tokens = await obtainTokens(first, client, await createUser(first));
    const kids = await kidsOf(first);
    await first.stop();

    // The new secret alone cannot open what the old one sealed: the start says what to do.
    await expect(startOn(storage, { ...samePort, TOLLGATE_SECRET: newSecret })).rejects.toThrow(
      /TOLLGATE_SECRET_PREVIOUS/,
    );

    // New secret in force, the old one as previous: the refresh token (and the client's secret) still work.
    const rotating = await startOn(storage, {
      ...samePort,
      TOLLGATE_SECRET: newSecret,
      TOLLGATE_SECRET_PREVIOUS: oldSecret,
    });
    let refreshToken: string;
    try {
      const res = await refresh(rotating, client, tokens.refresh_token);
      expect(res.status).toBe(200);
      refreshToken = res.body.refresh_token as string;
      expect(await kidsOf(rotating)).toEqual(kids);
      expect(kids).toContain(decodeProtectedHeader(res.body.id_token as string).kid);

      const resealed = await runCliInProcess(['secrets', 'reseal'], {
        env: { ...storage.env, TOLLGATE_SECRET: newSecret, TOLLGATE_SECRET_PREVIOUS: oldSecret },
      });
      expect(resealed.code).toBe(0);
      expect(resealed.json).toMatchObject({ resealed: { secret_keys: 1, signing_keys: kids.length } });
    } finally {
      await rotating.stop();
    }

    // Resealed: the old secret is dropped, and the family still rotates.
    const after = await startOn(storage, { ...samePort, TOLLGATE_SECRET: newSecret });
    try {
      const res = await refresh(after, client, refreshToken);
      expect(res.status).toBe(200);
      expect(await kidsOf(after)).toEqual(kids);
      const again = await refresh(after, client, res.body.refresh_token as string);
      expect(again.status).toBe(200);
    } finally {
      await after.stop();
    }
  });
});
