// Refresh-token snapshots (src/families/token-snapshots.ts) are hints, never the truth: a refresh builds its rotation
// on the presented token's snapshot, and the rotating statement rotates only if the rows still say what the snapshot
// said. Each thing a snapshot could hold stale is changed here between two refreshes, and the second refresh must be
// answered exactly as the lookup would answer it; a store that lost every snapshot must still let refresh work.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { adminCall, adminToken } from '../admin/helpers.js';
import { familyOf } from '../support/families.js';
import {
  createTestClient,
  createUser,
  obtainTokens,
  refresh,
  revoke,
  type Tokens,
  type User,
} from '../support/oauth.js';
import { deleteRedisKeys } from '../support/postgres.js';
import { MODES, startServer, type TestServer } from '../support/server.js';
import type { ClientView } from '../../src/clients/clients.js';

const REVOKED = { error: 'invalid_grant', error_description: 'refresh token has been revoked' };

const claimsOf = (idToken: unknown) =>
  JSON.parse(Buffer.from(String(idToken).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe.each(MODES)('refresh-token snapshots (%s storage)', (mode) => {
  let server: TestServer;
  let client: ClientView;
  let admin: string;
  beforeAll(async () => {
    server = await startServer(mode);
    // Counted windows below (external mode) must not catch the back-channel logout queue's poll.
    await server.backchannel.stop();
    client = await createTestClient(server);
    admin = (await adminToken(server)).token;
  });
  afterAll(() => server?.stop());

  const call = (method: string, path: string, body?: unknown) =>
    adminCall(server, method, path, { token: admin, body });

  /** A user signed in, and refreshed once: the token in hand was issued by a rotation, with its snapshot. */
  async function signedIn(scope = 'openid offline_access'): Promise<{ user: User; tokens: Tokens }> {
    const user = await createUser(server);
    const first = await obtainTokens(server, client, user, { scope });
    const res = await refresh(server, client, first.refresh_token);
    expect(res.status).toBe(200);
    return { user, tokens: res.body as unknown as Tokens };
  }

  /** Refused as the lookup path refuses, having consumed nothing (a rotation on a stale snapshot would have). */
  async function expectRefused(token: string, body: Record<string, string>) {
    const res = await refresh(server, client, token);
    expect({ status: res.status, body: res.body }).toEqual({ status: 400, body });
    const [row] = await server.db.sql.query<{ consumed_at: Date | null }>(
      'SELECT consumed_at FROM refresh_tokens WHERE id = $1',
      [server.hash(token)],
    );
    expect(row).toEqual({ consumed_at: null });
  }

  it('refuses a token whose family was revoked after its snapshot was written', async () => {
    const { user, tokens } = await signedIn();
    const family = await familyOf(server, tokens.refresh_token);
    expect((await call('DELETE', `/admin/users/${user.id}/sessions/${family.id}`)).status).toBe(204);
    await expectRefused(tokens.refresh_token, REVOKED);
  });

  it('refuses a token whose account was disabled, by an administrator or in the database alone', async () => {
    const { user, tokens } = await signedIn();
    expect((await call('PATCH', `/admin/users/${user.id}`, { disabled: true })).status).toBe(200);
    await expectRefused(tokens.refresh_token, REVOKED);

    // Only the account row changed (no family revoked): the statement's own account check must catch it.
    const other = await signedIn();
    await server.db.sql.query('UPDATE accounts SET disabled_at = now() WHERE id = $1::uuid', [other.user.id]);
    await expectRefused(other.tokens.refresh_token, {
      error: 'invalid_grant',
      error_description: 'the account of this refresh token is disabled or deleted',
    });
    expect(await familyOf(server, other.tokens.refresh_token)).toMatchObject({ revoked_reason: 'account_unavailable' });
  });

  it('refuses a token whose account was deleted', async () => {
    const { user, tokens } = await signedIn();
    expect((await call('DELETE', `/admin/users/${user.id}`)).status).toBe(204);
    await expectRefused(tokens.refresh_token, REVOKED);
  });

  it('refuses a token after its account was logged out everywhere', async () => {
    const { user, tokens } = await signedIn();
    expect((await call('DELETE', `/admin/users/${user.id}/sessions`)).status).toBe(204);
    await expectRefused(tokens.refresh_token, REVOKED);
  });

  it('refuses a token whose grant was revoked (RFC 7009 revocation of its access token) or is gone', async () => {
    const { tokens } = await signedIn();
    expect((await revoke(server, client, tokens.access_token, 'access_token')).status).toBe(200);
    await expectRefused(tokens.refresh_token, REVOKED);

    // The grant row alone removed (its family untouched): the statement's own grant check must catch it.
    const other = await signedIn();
    await server.db.sql.query(
      `DELETE FROM oidc_payloads WHERE model = 'Grant' AND id = (
         SELECT f.grant_id FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id WHERE t.id = $1)`,
      [server.hash(other.tokens.refresh_token)],
    );
    await expectRefused(other.tokens.refresh_token, {
      error: 'invalid_grant',
      error_description: 'grant request is invalid',
    });
  });

  it('puts a changed email in the next ID token', async () => {
    const { user, tokens } = await signedIn('openid offline_access email');
    expect(claimsOf(tokens.id_token).email).toBe(`${user.username}@example.com`);
    const changed = `changed-${user.username}@example.org`;
    expect((await call('PATCH', `/admin/users/${user.id}`, { email: changed })).status).toBe(200);
    const res = await refresh(server, client, tokens.refresh_token);
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.id_token)).toMatchObject({ email: changed, email_verified: false });
    const again = await refresh(server, client, res.body.refresh_token as string); // and from its own snapshot
    expect(claimsOf(again.body.id_token)).toMatchObject({ email: changed });
  });

  it('refreshes after the store lost every snapshot, and writes the next one', async () => {
    const { tokens } = await signedIn();
    if (mode === 'external') await deleteRedisKeys(server.config.redisKeyPrefix);
    else await server.store.delete(...(await server.store.entries()).map(([key]) => key));

    let queries = 0;
    const stop = server.db.observeQueries(() => (queries += 1));
    try {
      const res = await refresh(server, client, tokens.refresh_token);
      expect(res.status).toBe(200);
      const lookup = queries;
      const next = await refresh(server, client, res.body.refresh_token as string);
      expect(next.status).toBe(200);
      // External mode counts: the lookup and the rotation without a snapshot, then the rotation alone.
      if (mode === 'external') expect([lookup, queries - lookup]).toEqual([2, 1]);
    } finally {
      stop();
    }
  });
});
