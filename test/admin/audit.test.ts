// /admin/audit: newest first, filtered by user, client and type, in keyset pages; reuse detection shows up in it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { ClientView } from '../../src/clients/clients.js';
import { familyOf } from '../support/families.js';
import { createTestClient, createUser, obtainTokens, refresh, type Tokens, type User } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';
import { adminCall, adminToken } from './helpers.js';

interface EventView {
  id: string;
  type: string;
  at: string;
  user_id: string | null;
  client_id: string | null;
  family_id: string | null;
  ip: string | null;
  user_agent: string | null;
  outcome: string;
  detail: Record<string, unknown>;
}

describe('admin API: audit query', () => {
  let server: TestServer;
  let token: string;
  let client: ClientView;
  let user: User;
  const query = (params: string) => adminCall(server, 'GET', `/admin/audit?${params}`, { token });

  const rotate = async (t: Tokens) => {
    const res = await refresh(server, client, t.refresh_token);
    expect(res.status).toBe(200);
    return res.body as unknown as Tokens;
  };

  beforeAll(async () => {
    // The server's default grace window (10 s): reuse needs the successor to have been used. Rotations here follow
    // each other within milliseconds: rapid_refresh (which would add audit events) is off.
    server = await startServer('external', { ANOMALY_MIN_INTERVAL_SECONDS: '0' });
    ({ token } = await adminToken(server));
    client = await createTestClient(server);
    user = await createUser(server);
  });
  afterAll(() => server?.stop());

  it('shows reuse detection: the reuse, the family revoked, for that user and family', async () => {
    const first = await obtainTokens(server, client, user);
    const second = await rotate(first);
    await rotate(second);
    const replay = await refresh(server, client, first.refresh_token);
    expect(replay.body.error).toBe('invalid_grant');
    const family = await familyOf(server, first.refresh_token);

    const res = await query(`user_id=${user.id}&type=refresh_token.reuse_detected`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      items: [
        {
          id: expect.stringMatching(/^\d+$/),
          type: 'refresh_token.reuse_detected',
          at: expect.stringMatching(/Z$/),
          user_id: user.id,
          client_id: client.client_id,
          family_id: family.id,
          ip: expect.stringMatching(/127\.0\.0\.1|::1/),
          user_agent: 'node',
          outcome: 'revoked',
          detail: { generation: 0, why: 'successor already used' },
        },
      ],
      next_cursor: null,
    });
    const trail = (await query(`user_id=${user.id}&limit=200`)).body.items as EventView[];
    const ofFamily = trail.filter((e) => e.family_id === family.id).map((e) => e.type);
    // Newest first.
    expect(ofFamily).toEqual([
      'refresh_token.family_revoked',
      'refresh_token.reuse_detected',
      'refresh_token.rotated',
      'refresh_token.rotated',
    ]);
  });

  it('filters by user, client and type', async () => {
    const otherUser = await createUser(server);
    const otherClient = await createTestClient(server);
    await rotate(await obtainTokens(server, client, otherUser));
    await obtainTokens(server, otherClient, user);

    const byUser = (await query(`user_id=${otherUser.id}&limit=200`)).body.items as EventView[];
    expect(byUser.length).toBeGreaterThan(0);
    expect(byUser.every((e) => e.user_id === otherUser.id)).toBe(true);
    const byClient = (await query(`client_id=${otherClient.client_id}&limit=200`)).body.items as EventView[];
    expect(byClient.map((e) => e.type)).toEqual(['consent.granted', 'login.succeeded']);
    const byType = (await query('type=refresh_token.rotated&limit=200')).body.items as EventView[];
    expect(byType.length).toBeGreaterThanOrEqual(3);
    expect(byType.every((e) => e.type === 'refresh_token.rotated')).toBe(true);
    const combined = (await query(`user_id=${otherUser.id}&type=refresh_token.rotated`)).body.items as EventView[];
    expect(combined.map((e) => [e.user_id, e.client_id, e.type])).toEqual([
      [otherUser.id, client.client_id, 'refresh_token.rotated'],
    ]);
  });

  it('pages with an opaque cursor: newest first, no duplicates, no gaps, next_cursor null at the end', async () => {
    const paged = await createUser(server);
    let t = await obtainTokens(server, client, paged);
    for (let i = 0; i < 4; i++) t = await rotate(t);
    const all = (await query(`user_id=${paged.id}&limit=200`)).body.items as EventView[];
    expect(all.map((e) => e.type)).toEqual([
      'refresh_token.rotated',
      'refresh_token.rotated',
      'refresh_token.rotated',
      'refresh_token.rotated',
      'consent.granted',
      'login.succeeded',
    ]);
    const ids = all.map((e) => BigInt(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));

    const first = await query(`user_id=${paged.id}&limit=4`);
    expect(first.body.items).toEqual(all.slice(0, 4));
    expect(first.body.next_cursor).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]+$/));
    const second = await query(`user_id=${paged.id}&limit=4&cursor=${first.body.next_cursor}`);
    expect(second.body).toEqual({ items: all.slice(4), next_cursor: null });

    // A newer event does not shift the pages already handed out.
    await rotate(t);
    const again = await query(`user_id=${paged.id}&limit=4&cursor=${first.body.next_cursor}`);
    expect(again.body).toEqual(second.body);
  });

  it('answers 50 events a page by default and at most 200', async () => {
    const clientId = `bulk-${Date.now()}`;
    await server.db.sql.query(
      "INSERT INTO audit_events (type, client_id, outcome) SELECT 'client.created', $1, 'success' FROM generate_series(1, 251)",
      [clientId],
    );
    const byDefault = await query(`client_id=${clientId}`);
    expect(byDefault.body.items).toHaveLength(50);
    const most = await query(`client_id=${clientId}&limit=200`);
    expect(most.body.items).toHaveLength(200);
    const rest = await query(`client_id=${clientId}&limit=200&cursor=${most.body.next_cursor}`);
    expect(rest.body.items).toHaveLength(51);
    expect(rest.body.next_cursor).toBeNull();
    const seen = new Set([...most.body.items, ...rest.body.items].map((e: EventView) => e.id));
    expect(seen.size).toBe(251);
  });

  it.each([
    ['limit=0', 'limit: Too small: expected number to be >=1'],
    ['limit=201', 'limit: Too big: expected number to be <=200'],
    ['limit=ten', 'limit: must be an integer from 1 to 200'],
    ['user_id=42', 'user_id: must be a uuid'],
    ['type=DROP%20TABLE', 'type: must be an event type such as session.revoked'],
    ['cursor=bm90LWEtY3Vyc29y', 'cursor: not a cursor this list issued'],
    ['client_id=a&client_id=b', 'client_id: Invalid input: expected string, received array'],
    ['colour=blue', 'unknown field colour'],
  ])('answers %s with 400 naming the parameter', async (params, description) => {
    const res = await query(params);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: description });
  });
});
