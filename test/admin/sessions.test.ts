// Users and their device sessions: lookup by username, one session per live refresh-token family with its device,
// logging out one device (the others keep working), and logging out everywhere (every refresh token refused, every
// earlier access token inactive at introspection).
import { randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { ClientView } from '../../src/clients/clients.js';
import { familyOf } from '../support/families.js';
import {
  createTestClient,
  createUser,
  introspect,
  obtainTokens,
  refresh,
  type Tokens,
  type User,
} from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';
import { adminCall, adminToken, signInDevice } from './helpers.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const REVOKED = { error: 'invalid_grant', error_description: 'refresh token has been revoked' };

describe('admin API: users and sessions', () => {
  let server: TestServer;
  let admin: ClientView;
  let token: string;
  let client: ClientView;
  const call = (method: string, path: string) => adminCall(server, method, path, { token });

  const typesFor = async (userId: string) =>
    (await call('GET', `/admin/audit?user_id=${userId}&limit=200`)).body.items.map(
      (e: { type: string }) => e.type,
    ) as string[];

  beforeAll(async () => {
    server = await startServer('external');
    ({ client: admin, token } = await adminToken(server));
    client = await createTestClient(server);
  });
  afterAll(() => server?.stop());

  it('finds a user by username', async () => {
    const user = await createUser(server);
    const res = await call('GET', `/admin/users?username=${user.username}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      items: [
        {
          id: user.id,
          username: user.username,
          email: `${user.username}@example.com`,
          email_verified: false,
          created_at: expect.stringMatching(ISO),
          disabled_at: null,
          not_before: null,
        },
      ],
      next_cursor: null,
    });
    expect((await call('GET', '/admin/users?username=nobody-by-that-name')).body).toEqual({
      items: [],
      next_cursor: null,
    });
  });

  it('lists one session per live family, newest first, with its device', async () => {
    const user = await createUser(server);
    const phone = await signInDevice(server, client, user, 'Phone/1.0');
    const laptop = await signInDevice(server, client, user, 'Laptop/2.0');
    await refresh(server, client, laptop.refresh_token);

    const res = await call('GET', `/admin/users/${user.id}/sessions`);
    expect(res.status).toBe(200);
    const [laptopFamily, phoneFamily] = [
      await familyOf(server, laptop.refresh_token),
      await familyOf(server, phone.refresh_token),
    ];
    const session = (id: string, userAgent: string, refreshCount: number, signals: string[] = []) => ({
      id,
      client_id: client.client_id,
      created_at: expect.stringMatching(ISO),
      last_used_at: expect.stringMatching(ISO),
      expires_at: expect.stringMatching(ISO),
      ip: expect.stringMatching(/127\.0\.0\.1|::1/),
      user_agent: userAgent,
      refresh_count: refreshCount,
      latest_signals: signals,
      latest_signals_at: signals.length ? expect.stringMatching(ISO) : null,
    });
    // The laptop's refresh came with another user agent (fetch's own) than its sign-in: an anomaly signal.
    expect(res.body).toEqual({
      items: [
        session(laptopFamily.id, 'Laptop/2.0', 1, ['user_agent_changed']),
        session(phoneFamily.id, 'Phone/1.0', 0),
      ],
      next_cursor: null,
    });
    // expires_at is the idle expiry (renewed by the rotation), which comes before the family's absolute end.
    expect(res.body.items[0].expires_at).toBe(laptopFamily.idle_expires_at.toISOString());

    const first = await call('GET', `/admin/users/${user.id}/sessions?limit=1`);
    expect(first.body.items.map((s: { id: string }) => s.id)).toEqual([laptopFamily.id]);
    const second = await call('GET', `/admin/users/${user.id}/sessions?limit=1&cursor=${first.body.next_cursor}`);
    expect(second.body).toEqual({ items: [session(phoneFamily.id, 'Phone/1.0', 0)], next_cursor: null });
  });

  it('logs out one device: its tokens die, the other device keeps working', async () => {
    const user = await createUser(server);
    const phone = await signInDevice(server, client, user, 'Phone/1.0');
    const laptop = await signInDevice(server, client, user, 'Laptop/2.0');
    const phoneFamily = await familyOf(server, phone.refresh_token);

    const res = await call('DELETE', `/admin/users/${user.id}/sessions/${phoneFamily.id}`);
    expect(res.status).toBe(204);
    expect((await refresh(server, client, phone.refresh_token)).body).toEqual(REVOKED);
    expect((await introspect(server, client, phone.access_token)).body).toEqual({ active: false });
    expect((await introspect(server, client, laptop.access_token)).body).toMatchObject({ active: true, sub: user.id });
    expect((await refresh(server, client, laptop.refresh_token)).status).toBe(200);

    const listed = await call('GET', `/admin/users/${user.id}/sessions`);
    expect(listed.body.items.map((s: { user_agent: string }) => s.user_agent)).toEqual(['Laptop/2.0']);
    const events = await call('GET', `/admin/audit?user_id=${user.id}&type=session.revoked`);
    expect(events.body.items).toEqual([
      expect.objectContaining({
        type: 'session.revoked',
        user_id: user.id,
        client_id: client.client_id,
        family_id: phoneFamily.id,
        outcome: 'revoked',
        detail: { reason: 'device_logout', via: 'admin_api', admin_client_id: admin.client_id },
      }),
    ]);
    // The session is gone: revoking it again finds nothing.
    expect((await call('DELETE', `/admin/users/${user.id}/sessions/${phoneFamily.id}`)).status).toBe(404);
  });

  it('logs out everywhere: every refresh token refused, every access token inactive, not_before set', async () => {
    const user = await createUser(server);
    const devices: Tokens[] = [];
    for (const agent of ['Phone/1.0', 'Laptop/2.0', 'Tablet/3.0'])
      devices.push(await signInDevice(server, client, user, agent));
    // No offline_access: no refresh token, no family. Only the account's not-before can make this token inactive.
    const withoutFamily = await obtainTokens(server, client, user, { scope: 'openid' });
    expect(withoutFamily.refresh_token).toBeUndefined();
    expect((await introspect(server, client, withoutFamily.access_token)).body.active).toBe(true);
    const bystander = await createUser(server);
    const other = await signInDevice(server, client, bystander, 'Other/1.0');

    const res = await call('DELETE', `/admin/users/${user.id}/sessions`);
    expect(res.status).toBe(204);
    for (const device of devices) {
      expect((await refresh(server, client, device.refresh_token)).body).toEqual(REVOKED);
      expect((await introspect(server, client, device.access_token)).body).toEqual({ active: false });
    }
    expect((await introspect(server, client, withoutFamily.access_token)).body).toEqual({ active: false });
    expect((await call('GET', `/admin/users/${user.id}/sessions`)).body).toEqual({ items: [], next_cursor: null });
    const [found] = (await call('GET', `/admin/users?username=${user.username}`)).body.items;
    expect(found.not_before).toMatch(ISO);
    const types = await typesFor(user.id);
    expect(types.filter((t) => t === 'session.revoked')).toHaveLength(3);
    expect(types.filter((t) => t === 'user.logged_out_everywhere')).toHaveLength(1);
    expect(server.logs.join('')).toContain('"msg":"audit user.logged_out_everywhere"');

    // Someone else's sessions are untouched.
    expect((await refresh(server, client, other.refresh_token)).status).toBe(200);
    // The user signs in again afterwards and is served normally.
    const again = await signInDevice(server, client, user, 'Phone/1.1');
    expect((await refresh(server, client, again.refresh_token)).status).toBe(200);
  });

  it.each([
    ['an unknown user', () => `/admin/users/${randomUUID()}/sessions`, 'no such user'],
    ['a malformed user id', () => '/admin/users/not-a-uuid/sessions', 'no such user'],
  ])('answers 404 for the sessions of %s', async (_label, path, description) => {
    for (const method of ['GET', 'DELETE']) {
      const res = await call(method, path());
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: 'not_found', error_description: description });
    }
  });

  it('answers 404 when the session is another user’s, unknown, or malformed', async () => {
    const [alice, bob]: [User, User] = [await createUser(server), await createUser(server)];
    const bobs = await familyOf(server, (await signInDevice(server, client, bob, 'Bob/1.0')).refresh_token);
    for (const familyId of [bobs.id, randomUUID(), 'not-a-uuid']) {
      const res = await call('DELETE', `/admin/users/${alice.id}/sessions/${familyId}`);
      expect(res.status).toBe(404);
      expect(res.body.error).toBe('not_found');
    }
    const [row] = await server.db.sql.query<{ revoked_at: Date | null }>(
      'SELECT revoked_at FROM refresh_token_families WHERE id = $1',
      [bobs.id],
    );
    expect(row).toEqual({ revoked_at: null });
  });
});
