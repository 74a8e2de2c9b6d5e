// Refresh-token families: rotation chains, the grace window, and reuse detection that revokes exactly one family.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { auditOf, familyOf, tokensOf } from '../support/families.js';
import { Browser } from '../support/browser.js';
import {
  createTestClient,
  createUser,
  introspect,
  obtainTokens,
  refresh,
  type Tokens,
  type User,
} from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';
import type { ClientView } from '../../src/clients/clients.js';

const REUSE = {
  error: 'invalid_grant',
  error_description: 'refresh token was already used; this sign-in has been revoked, sign in again',
};

describe.each(MODES)('refresh-token families (%s storage)', (mode) => {
  let server: TestServer;
  let user: User;
  let client: ClientView;

  beforeAll(async () => {
    server = await startServer(mode, { REFRESH_REUSE_GRACE_SECONDS: '10' });
    user = await createUser(server);
    client = await createTestClient(server);
  });
  afterAll(() => server?.stop());

  const rotate = async (token: string) => {
    const res = await refresh(server, client, token, { 'user-agent': 'TestDevice/1.0' });
    expect(res.status).toBe(200);
    return res.body as unknown as Tokens;
  };

  it('starts a family at the code exchange and chains each rotation to its parent', async () => {
    const first = await obtainTokens(server, client, user);
    let current = first;
    for (let i = 0; i < 4; i++) current = await rotate(current.refresh_token);

    const family = await familyOf(server, current.refresh_token);
    expect(family).toMatchObject({ refresh_count: 4, revoked_at: null, ip: expect.stringMatching(/127\.0\.0\.1|::1/) });
    const tokens = await tokensOf(server, family.id);
    expect(tokens.map((t) => t.generation)).toEqual([0, 1, 2, 3, 4]);
    for (let g = 1; g < tokens.length; g++) expect(tokens[g]!.parent_id).toBe(tokens[g - 1]!.id);
    expect(tokens[0]!.id).toBe(server.hash(first.refresh_token));
    // Consumed tokens shrink to what reuse detection needs; only the head keeps its payload.
    expect(tokens.map((t) => [Boolean(t.consumed_at), t.has_payload])).toEqual([
      [true, false],
      [true, false],
      [true, false],
      [true, false],
      [false, true],
    ]);
    expect((await auditOf(server, family.id)).filter((e) => e.type === 'refresh_token.rotated')).toHaveLength(4);
  });

  it('answers a token presented again inside the window with the identical first response', async () => {
    const first = await obtainTokens(server, client, user);
    const rotated = await refresh(server, client, first.refresh_token);
    const again = await refresh(server, client, first.refresh_token);
    expect(again.status).toBe(200);
    expect(again.headers.get('cache-control')).toBe('no-store');
    expect(again.body).toEqual(rotated.body);
    const family = await familyOf(server, first.refresh_token);
    expect((await tokensOf(server, family.id)).map((t) => t.generation)).toEqual([0, 1]); // no new branch
    expect((await rotate(rotated.body.refresh_token as string)).refresh_token).toEqual(expect.any(String));
  });

  it('closes the window once the successor is used: the old token is then reuse', async () => {
    const first = await obtainTokens(server, client, user);
    const second = await rotate(first.refresh_token);
    const third = await rotate(second.refresh_token);
    const replay = await refresh(server, client, first.refresh_token);
    expect(replay.status).toBe(400);
    expect(replay.body).toEqual(REUSE);
    expect((await refresh(server, client, third.refresh_token)).body).toEqual({
      error: 'invalid_grant',
      error_description: 'refresh token has been revoked',
    });
  });

  it('revokes exactly the reused family, with its access tokens, and leaves other devices alone', async () => {
    const phone = await obtainTokens(server, client, user);
    const laptop = await obtainTokens(server, client, user, { browser: new Browser(server.url) });
    const sameBrowser = new Browser(server.url);
    const tabA = await obtainTokens(server, client, user, { browser: sameBrowser });
    const tabB = await obtainTokens(server, client, user, { browser: sameBrowser }); // same session and grant, its own family

    const phone2 = await rotate(phone.refresh_token);
    const phone3 = await rotate(phone2.refresh_token);
    const tabA2 = await rotate(tabA.refresh_token);
    await rotate(tabA2.refresh_token);

    expect((await refresh(server, client, phone.refresh_token)).body).toEqual(REUSE);
    expect((await refresh(server, client, tabA.refresh_token)).body).toEqual(REUSE);

    for (const at of [
      phone.access_token,
      phone2.access_token,
      phone3.access_token,
      tabA.access_token,
      tabA2.access_token,
    ]) {
      expect((await introspect(server, client, at)).body).toEqual({ active: false });
    }
    expect((await refresh(server, client, phone3.refresh_token)).status).toBe(400);
    for (const other of [laptop, tabB]) {
      expect((await introspect(server, client, other.access_token)).body.active).toBe(true);
      expect((await refresh(server, client, other.refresh_token)).status).toBe(200);
    }

    const phoneFamily = await familyOf(server, phone.refresh_token);
    expect(phoneFamily).toMatchObject({ revoked_at: expect.any(Date), revoked_reason: 'reuse_detected' });
    // (Its rotations came with another user agent than its sign-in: the refresh_token.anomaly events are left out.)
    expect(
      (await auditOf(server, phoneFamily.id))
        .filter((e) => e.type !== 'refresh_token.anomaly')
        .map((e) => [e.type, e.outcome]),
    ).toEqual([
      ['refresh_token.rotated', 'success'],
      ['refresh_token.rotated', 'success'],
      ['refresh_token.reuse_detected', 'revoked'],
      ['refresh_token.family_revoked', 'revoked'],
    ]);
    expect((await familyOf(server, laptop.refresh_token)).revoked_at).toBeNull();
  });

  it('records the device of the family', async () => {
    const tokens = await obtainTokens(server, client, user);
    await refresh(server, client, tokens.refresh_token, { 'user-agent': 'TestDevice/1.0' });
    const family = await familyOf(server, tokens.refresh_token);
    expect(family.user_agent).toBe('node'); // the code exchange's user agent (fetch's default)
    expect(family.ip).toMatch(/127\.0\.0\.1|::1/);
  });

  it('refuses a disabled account and revokes its family', async () => {
    const someone = await createUser(server);
    const tokens = await obtainTokens(server, client, someone);
    await server.db.prisma.account.update({ where: { id: someone.id }, data: { disabledAt: new Date() } });
    const res = await refresh(server, client, tokens.refresh_token);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_grant',
      error_description: 'the account of this refresh token is disabled or deleted',
    });
    expect(await familyOf(server, tokens.refresh_token)).toMatchObject({ revoked_reason: 'account_unavailable' });
    await server.db.prisma.account.update({ where: { id: someone.id }, data: { disabledAt: null } });
    expect((await refresh(server, client, tokens.refresh_token)).status).toBe(400); // revoked stays revoked
  });

  it.each([
    ['unknown', 'x'.repeat(43), 'refresh token not found'],
    ['malformed', 'not a token at all <>', 'refresh token not found'],
    ['overlong', 'a'.repeat(5000), 'refresh token not found'],
  ])('answers an %s token with 400 invalid_grant', async (_label, token, description) => {
    const res = await refresh(server, client, token);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_grant', error_description: description });
  });

  it('answers another client’s token with invalid_grant and leaves the token usable', async () => {
    const tokens = await obtainTokens(server, client, user);
    const other = await createTestClient(server);
    const res = await refresh(server, other, tokens.refresh_token);
    expect(res.body).toEqual({
      error: 'invalid_grant',
      error_description: 'refresh token was issued to another client',
    });
    expect((await refresh(server, client, tokens.refresh_token)).status).toBe(200);
  });

  it('revokes the family when the client revokes its refresh token (RFC 7009)', async () => {
    const tokens = await obtainTokens(server, client, user);
    const next = await rotate(tokens.refresh_token);
    const res = await fetch(`${server.url}/token/revocation`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token: next.refresh_token, token_type_hint: 'refresh_token' }),
    });
    expect(res.status).toBe(200);
    expect((await refresh(server, client, next.refresh_token)).body).toEqual({
      error: 'invalid_grant',
      error_description: 'refresh token has been revoked',
    });
    expect((await introspect(server, client, next.access_token)).body).toEqual({ active: false });
  });
});

describe('grace window closing with time', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external', { REFRESH_REUSE_GRACE_SECONDS: '1' });
  });
  afterAll(() => server?.stop());

  it('treats the old token as reuse once the window has passed', async () => {
    const client = await createTestClient(server);
    const first = await obtainTokens(server, client, await createUser(server));
    const rotated = await refresh(server, client, first.refresh_token);
    expect((await refresh(server, client, first.refresh_token)).body).toEqual(rotated.body); // inside
    await new Promise((r) => setTimeout(r, 1300));
    const late = await refresh(server, client, first.refresh_token);
    expect(late.body).toEqual(REUSE);
    expect((await refresh(server, client, rotated.body.refresh_token as string)).status).toBe(400);
  });
});

describe('strict rotation (REFRESH_REUSE_GRACE_SECONDS=0)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external', { REFRESH_REUSE_GRACE_SECONDS: '0' });
  });
  afterAll(() => server?.stop());

  it('treats any second presentation as reuse', async () => {
    const client = await createTestClient(server);
    const first = await obtainTokens(server, client, await createUser(server));
    const rotated = await refresh(server, client, first.refresh_token);
    expect(rotated.status).toBe(200);
    expect((await refresh(server, client, first.refresh_token)).body).toEqual(REUSE);
    expect((await refresh(server, client, rotated.body.refresh_token as string)).status).toBe(400);
  });
});
