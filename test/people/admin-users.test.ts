// The user lifecycle over the admin API, on PostgreSQL + Redis and on the embedded default: create, find (query,
// pages), read, change the email, disable and enable, set a password, delete — each audited — and disabling or
// deleting cuts every token at once (opaque and JWT, at introspection and userinfo; refresh tokens refused), on a
// second instance too, while the audit trail stays.
import { randomBytes, randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { adminCall, adminToken } from '../admin/helpers.js';
import { createUser, introspect, obtainTokens, type User } from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';
import { createApps, expectTokens, GENERIC_LOGIN_ERROR, signInAttempt, tokensOf, type Apps } from './helpers.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe.each(MODES)('admin API: user lifecycle (%s)', (mode) => {
  let server: TestServer;
  let sibling: TestServer | undefined;
  let token: string;
  let adminId: string;
  let apps: Apps;
  const call = (method: string, path: string, body?: unknown) => adminCall(server, method, path, { token, body });
  const typesFor = async (userId: string) =>
    ((await call('GET', `/admin/audit?user_id=${userId}&limit=200`)).body.items as { type: string }[]).map(
      (e) => e.type,
    );

  beforeAll(async () => {
    server = await startServer(mode);
    if (mode === 'external') sibling = await server.sibling();
    const admin = await adminToken(server);
    token = admin.token;
    adminId = admin.client.client_id;
    apps = await createApps(server);
  });
  afterAll(async () => {
    await sibling?.stop();
    await server?.stop();
  });

  it('creates a user (user.created) who can sign in, and refuses a taken username', async () => {
    const username = `new_${randomBytes(4).toString('hex')}`;
    const res = await call('POST', '/admin/users', {
      username,
      password: 'a-good-password',
      email: `${username}@Example.com`,
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      username,
      email: `${username}@Example.com`,
      email_verified: false,
      created_at: expect.stringMatching(ISO),
      disabled_at: null,
      not_before: null,
    });
    expect(res.headers.get('location')).toBe(`/admin/users/${res.body.id}`);
    expect((await call('GET', `/admin/users/${res.body.id}`)).body).toEqual(res.body);
    const events = (await call('GET', `/admin/audit?user_id=${res.body.id}&type=user.created`)).body.items;
    expect(events).toEqual([
      expect.objectContaining({
        type: 'user.created',
        user_id: res.body.id,
        outcome: 'success',
        detail: { via: 'admin_api', admin_client_id: adminId },
      }),
    ]);
    const user: User = { id: res.body.id, username, password: 'a-good-password' };
    expect((await obtainTokens(server, apps.app, user)).access_token).toEqual(expect.any(String));

    const again = await call('POST', '/admin/users', { username, password: 'another-password' });
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ error: 'invalid_request', error_description: `username ${username} is taken` });
  });

  it.each([
    [{ username: 'ok_name', password: 'short' }, 'password: Too small: expected string to have >=8 characters'],
    [{ username: 'bad name!', password: 'long-enough' }, 'username must be 1-64 characters of A-Z a-z 0-9 . _ @ + -'],
    [{ username: 'ok_name2', password: 'long-enough', email: 'not-an-address' }, 'email is not a valid address'],
    [{ username: 'ok_name3', password: 'long-enough', colour: 'red' }, 'unknown field colour'],
  ])('refuses a bad creation %j', async (body, description) => {
    const res = await call('POST', '/admin/users', body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: description });
  });

  it('finds users by part of the username or email, a page at a time', async () => {
    const tag = randomBytes(3).toString('hex');
    const made: User[] = [];
    for (const n of [1, 2, 3]) made.push(await createUser(server, `q${tag}_${n}`));
    const first = await call('GET', `/admin/users?query=Q${tag.toUpperCase()}&limit=2`);
    expect(first.status).toBe(200);
    expect(first.body.items.map((u: { username: string }) => u.username)).toEqual([`q${tag}_1`, `q${tag}_2`]);
    const second = await call('GET', `/admin/users?query=q${tag}&limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body).toEqual({ items: [expect.objectContaining({ id: made[2]!.id })], next_cursor: null });
    // The test users' addresses are username@example.com: the email matches too.
    expect(
      (await call('GET', `/admin/users?query=${tag}_3@EXAMPLE`)).body.items.map((u: { id: string }) => u.id),
    ).toEqual([made[2]!.id]);
    expect((await call('GET', `/admin/users?query=${tag}&cursor=garbage`)).status).toBe(400);
  });

  it('changes the email (user.updated): unverified again', async () => {
    const user = await createUser(server);
    const res = await call('PATCH', `/admin/users/${user.id}`, { email: 'moved@example.org' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: user.id,
      email: 'moved@example.org',
      email_verified: false,
      disabled_at: null,
    });
    expect(await typesFor(user.id)).toContain('user.updated');
    expect((await call('PATCH', `/admin/users/${user.id}`, { email: 'nope' })).body).toEqual({
      error: 'invalid_request',
      error_description: 'email is not a valid address',
    });
    expect((await call('PATCH', `/admin/users/${user.id}`, {})).status).toBe(400);
    expect((await call('PATCH', `/admin/users/${user.id}`, { email: null })).body.email).toBeNull();
  });

  it('disables a user: sign-in refused like a wrong password, every token dead at once, on every instance; enabling lets them sign in again', async () => {
    const user = await createUser(server);
    const held = await tokensOf(server, apps, user);
    await expectTokens(server, apps, held, 'alive');

    const res = await call('PATCH', `/admin/users/${user.id}`, { disabled: true });
    expect(res.status).toBe(200);
    expect(res.body.disabled_at).toMatch(ISO);
    for (const instance of [server, ...(sibling ? [sibling] : [])]) await expectTokens(instance, apps, held, 'dead');
    const refused = await signInAttempt(server, apps.app, user.username, user.password);
    const wrong = await signInAttempt(server, apps.app, user.username, 'not-the-password');
    expect(refused.page).toContain(GENERIC_LOGIN_ERROR);
    // The same page but for what is per interaction (its address, its CSRF token).
    const generic = (page: string) =>
      page.replace(/\/interaction\/[^"]+/g, '').replace(/name="csrf_token" value="[^"]+"/, '');
    expect(generic(refused.page)).toBe(generic(wrong.page));
    expect((await call('GET', `/admin/users/${user.id}/sessions`)).body.items).toEqual([]);

    const enabled = await call('PATCH', `/admin/users/${user.id}`, { disabled: false });
    expect(enabled.body.disabled_at).toBeNull();
    // Tokens from before the disabling stay dead; a new sign-in works.
    await expectTokens(server, apps, held, 'dead');
    expect((await obtainTokens(server, apps.app, user)).access_token).toEqual(expect.any(String));
    const types = await typesFor(user.id);
    expect(types.filter((t) => t === 'user.disabled')).toHaveLength(1);
    expect(types.filter((t) => t === 'user.enabled')).toHaveLength(1);
    expect(types).toContain('session.revoked');
  });

  it('treats an account disabled directly in the database as disabled at once', async () => {
    const user = await createUser(server);
    const held = await tokensOf(server, apps, user);
    await server.db.sql.query('UPDATE accounts SET disabled_at = now() WHERE id = $1', [user.id]);
    for (const tokens of [held.withFamily, held.withoutFamily]) {
      expect((await introspect(server, apps.app, tokens.access_token)).body).toEqual({ active: false });
    }
    expect((await introspect(server, apps.api, held.jwt.access_token)).body).toEqual({ active: false });
  });

  it('sets a password (user.password_changed): the old one is refused and the user is signed out everywhere', async () => {
    const user = await createUser(server);
    const held = await tokensOf(server, apps, user);
    const res = await call('POST', `/admin/users/${user.id}/password`, { password: 'the-new-password' });
    expect(res.status).toBe(204);
    await expectTokens(server, apps, held, 'dead');
    expect((await signInAttempt(server, apps.app, user.username, user.password)).page).toContain(GENERIC_LOGIN_ERROR);
    expect((await obtainTokens(server, apps.app, { ...user, password: 'the-new-password' })).access_token).toEqual(
      expect.any(String),
    );
    expect(await typesFor(user.id)).toContain('user.password_changed');
    expect((await call('POST', `/admin/users/${user.id}/password`, { password: 'short' })).status).toBe(400);
  });

  it('deletes a user: every token dead at once, on every instance; the audit trail stays', async () => {
    const user = await createUser(server);
    const held = await tokensOf(server, apps, user);
    expect((await call('DELETE', `/admin/users/${user.id}`)).status).toBe(204);
    for (const instance of [server, ...(sibling ? [sibling] : [])]) await expectTokens(instance, apps, held, 'dead');
    expect((await call('GET', `/admin/users/${user.id}`)).status).toBe(404);
    expect((await signInAttempt(server, apps.app, user.username, user.password)).page).toContain(GENERIC_LOGIN_ERROR);
    const types = await typesFor(user.id);
    expect(types[0]).toBe('session.revoked');
    expect(types).toEqual(expect.arrayContaining(['user.deleted', 'login.succeeded', 'consent.granted']));
    expect((await call('DELETE', `/admin/users/${user.id}`)).status).toBe(404);
  });

  it('answers 404 for unknown or malformed ids, as JSON', async () => {
    for (const id of [randomUUID(), 'not-a-uuid']) {
      for (const [method, path, body] of [
        ['GET', `/admin/users/${id}`],
        ['PATCH', `/admin/users/${id}`, { disabled: true }],
        ['DELETE', `/admin/users/${id}`],
        ['POST', `/admin/users/${id}/password`, { password: 'long-enough' }],
      ] as [string, string, unknown?][]) {
        const res = await call(method, path, body);
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ error: 'not_found', error_description: 'no such user' });
      }
    }
    expect((await adminCall(server, 'GET', '/admin/users')).status).toBe(401);
  });
});
