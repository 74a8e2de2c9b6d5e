// Lifetimes of refresh tokens and families, and the velocity limit. Time is moved by editing the stored expiry
// (the server compares against it), so nothing here waits on the clock except the short velocity window.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { auditOf, familyOf, tokensOf } from '../support/families.js';
import { createTestClient, createUser, obtainTokens, refresh, type User } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';
import type { ClientView } from '../../src/clients/clients.js';

describe('refresh lifetimes', () => {
  let server: TestServer;
  let user: User;
  let client: ClientView;
  const IDLE = 3600;
  const MAX = 7200;

  beforeAll(async () => {
    server = await startServer('external', {
      REFRESH_TOKEN_IDLE_TTL_SECONDS: String(IDLE),
      REFRESH_FAMILY_MAX_TTL_SECONDS: String(MAX),
    });
    user = await createUser(server);
    client = await createTestClient(server);
  });
  afterAll(() => server?.stop());

  const near = (actual: Date, expectedMs: number) =>
    expect(Math.abs(new Date(actual).getTime() - expectedMs)).toBeLessThan(5000);

  it('gives the first token the idle lifetime and the family the absolute one', async () => {
    const started = Date.now();
    const tokens = await obtainTokens(server, client, user);
    const family = await familyOf(server, tokens.refresh_token);
    near(family.expires_at, started + MAX * 1000);
    near(family.idle_expires_at, started + IDLE * 1000);
  });

  it('renews the idle lifetime with each rotation, never past the absolute end', async () => {
    const tokens = await obtainTokens(server, client, user);
    const family = await familyOf(server, tokens.refresh_token);
    // Pretend the family is nearly over: 60 s left of its absolute lifetime.
    const end = new Date(Date.now() + 60_000);
    await server.db.sql.query('UPDATE refresh_token_families SET expires_at = $2 WHERE id = $1', [family.id, end]);
    const rotated = await refresh(server, client, tokens.refresh_token);
    expect(rotated.status).toBe(200);
    const [, successor] = await server.db.sql.query<{ expires_at: Date }>(
      'SELECT expires_at FROM refresh_tokens WHERE family_id = $1 ORDER BY generation',
      [family.id],
    );
    expect(new Date(successor!.expires_at).getTime()).toBe(end.getTime());

    const fresh = await obtainTokens(server, client, user);
    const before = Date.now();
    const next = await refresh(server, client, fresh.refresh_token);
    const rows = await tokensOf(server, (await familyOf(server, fresh.refresh_token)).id);
    expect(rows).toHaveLength(2);
    near((await familyOf(server, next.body.refresh_token as string)).idle_expires_at, before + IDLE * 1000);
  });

  it('refuses a token past its idle lifetime', async () => {
    const tokens = await obtainTokens(server, client, user);
    await server.db.sql.query("UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", [
      server.hash(tokens.refresh_token),
    ]);
    const res = await refresh(server, client, tokens.refresh_token);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'refresh token has expired' });
  });

  it('refuses every token of a family past its absolute lifetime, however recently used', async () => {
    const tokens = await obtainTokens(server, client, user);
    const rotated = await refresh(server, client, tokens.refresh_token);
    const family = await familyOf(server, tokens.refresh_token);
    await server.db.sql.query(
      "UPDATE refresh_token_families SET expires_at = now() - interval '1 second' WHERE id = $1",
      [family.id],
    );
    const res = await refresh(server, client, rotated.body.refresh_token as string);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_grant',
      error_description: 'refresh token family has expired; sign in again',
    });
  });
});

describe('velocity limit', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external', { REFRESH_VELOCITY_MAX: '3', REFRESH_VELOCITY_WINDOW_SECONDS: '2' });
  });
  afterAll(() => server?.stop());

  it('answers 429 with Retry-After to a family rotating too fast, audits it, and consumes nothing', async () => {
    const client = await createTestClient(server);
    let token = (await obtainTokens(server, client, await createUser(server))).refresh_token;
    for (let i = 0; i < 3; i++) {
      const res = await refresh(server, client, token);
      expect(res.status).toBe(200);
      token = res.body.refresh_token as string;
    }
    const limited = await refresh(server, client, token);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toMatch(/^[12]$/);
    expect(limited.body).toEqual({
      error: 'slow_down',
      error_description: expect.stringMatching(/^this session refreshes too often; retry in [12] s$/),
    });
    const family = await familyOf(server, token);
    expect((await auditOf(server, family.id)).at(-1)).toMatchObject({
      type: 'refresh_token.velocity_exceeded',
      outcome: 'refused',
    });
    expect(family.revoked_at).toBeNull();

    await new Promise((r) => setTimeout(r, Number(limited.headers.get('retry-after')) * 1000 + 200));
    expect((await refresh(server, client, token)).status).toBe(200); // the limited token was not consumed
  });

  it('counts each family on its own', async () => {
    const client = await createTestClient(server);
    const user = await createUser(server);
    const one = await obtainTokens(server, client, user);
    const two = await obtainTokens(server, client, user);
    let token = one.refresh_token;
    for (let i = 0; i < 3; i++) token = (await refresh(server, client, token)).body.refresh_token as string;
    expect((await refresh(server, client, token)).status).toBe(429);
    expect((await refresh(server, client, two.refresh_token)).status).toBe(200);
  });
});

describe('a family started on an existing grant', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external');
  });
  afterAll(() => server?.stop());

  it('extends the grant to the family’s end, so the later family is not cut short', async () => {
    const client = await createTestClient(server);
    const user = await createUser(server);
    const { Browser } = await import('../support/browser.js');
    const browser = new Browser(server.url);
    const first = await obtainTokens(server, client, user, { browser });
    const grantHash = await server.db.sql.query<{ grant_id: string }>(
      'SELECT grant_id FROM refresh_token_families WHERE id = $1',
      [(await familyOf(server, first.refresh_token)).id],
    );
    // The grant is about to expire (as if it were created long ago)...
    await server.db.sql.query(
      "UPDATE oidc_payloads SET expires_at = now() + interval '5 seconds', payload = jsonb_set(payload, '{exp}', to_jsonb(extract(epoch from now())::bigint + 5)) WHERE model = 'Grant' AND id = $1",
      [grantHash[0]!.grant_id],
    );
    // ...when a second sign-in in the same browser session starts a new family on it.
    const second = await obtainTokens(server, client, user, { browser });
    const secondFamily = await familyOf(server, second.refresh_token);
    const [grant] = await server.db.sql.query<{ expires_at: Date; exp: number }>(
      "SELECT expires_at, (payload->>'exp')::bigint AS exp FROM oidc_payloads WHERE model = 'Grant' AND id = $1",
      [grantHash[0]!.grant_id],
    );
    expect(new Date(grant!.expires_at).getTime()).toBe(new Date(secondFamily.expires_at).getTime());
    expect(Number(grant!.exp)).toBe(Math.floor(new Date(secondFamily.expires_at).getTime() / 1000));
  });
});
