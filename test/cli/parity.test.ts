// CLI parity with the admin API, run in-process (test/support/cli.ts): `sessions list`, `sessions revoke` (one
// device, or everywhere) and `clients rotate-secret` do what their HTTP counterparts do, print one JSON document,
// and leave the same audit trail (marked via "cli"). With PostgreSQL and Redis the CLI reaches everything the server
// does; on the embedded database it does the database part while the server runs.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { ClientView } from '../../src/clients/clients.js';
import { adminCall, adminToken, signInDevice } from '../admin/helpers.js';
import { familyOf } from '../support/families.js';
import { createTestClient, createUser, introspect, refresh, tokenRequest } from '../support/oauth.js';
import { runCliInProcess } from '../support/cli.js';
import { startServer, type TestServer } from '../support/server.js';

const REVOKED = { error: 'invalid_grant', error_description: 'refresh token has been revoked' };

/** The JSON error a failed command printed: the last line of stderr. */
const errorOf = (stderr: string) => JSON.parse(stderr.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;

describe('CLI parity with the admin API (PostgreSQL + Redis, server running)', () => {
  let server: TestServer;
  let token: string;
  let client: ClientView;
  const cli = (...args: string[]) => runCliInProcess(args, { env: { ...server.env, LOG_LEVEL: 'info' } });

  beforeAll(async () => {
    server = await startServer('external');
    ({ token } = await adminToken(server));
    client = await createTestClient(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('sessions list prints the sessions the admin API lists', async () => {
    const user = await createUser(server);
    await signInDevice(server, client, user, 'Phone/1.0');
    await signInDevice(server, client, user, 'Laptop/2.0');
    const res = await cli('sessions', 'list', '--username', user.username);
    expect(res.code).toBe(0);
    const api = await adminCall(server, 'GET', `/admin/users/${user.id}/sessions`, { token });
    expect(res.json).toEqual(api.body.items);
    expect((res.json as { user_agent: string }[]).map((s) => s.user_agent)).toEqual(['Laptop/2.0', 'Phone/1.0']);
  });

  it('sessions revoke --family logs out one device; the other keeps working', async () => {
    const user = await createUser(server);
    const phone = await signInDevice(server, client, user, 'Phone/1.0');
    const laptop = await signInDevice(server, client, user, 'Laptop/2.0');
    const phoneFamily = (await familyOf(server, phone.refresh_token)).id;

    const res = await cli('sessions', 'revoke', '--username', user.username, '--family', phoneFamily);
    expect(res.code).toBe(0);
    expect(res.json).toEqual({ user_id: user.id, revoked: [phoneFamily] });
    expect((await refresh(server, client, phone.refresh_token)).body).toEqual(REVOKED);
    // Redis is shared, so the CLI dropped the device's access tokens as the API would.
    expect((await introspect(server, client, phone.access_token)).body).toEqual({ active: false });
    expect((await refresh(server, client, laptop.refresh_token)).status).toBe(200);

    const events = await adminCall(server, 'GET', `/admin/audit?user_id=${user.id}&type=session.revoked`, { token });
    expect(events.body.items.map((e: { family_id: string; detail: unknown }) => [e.family_id, e.detail])).toEqual([
      [phoneFamily, { reason: 'device_logout', via: 'cli' }],
    ]);
    expect(res.stderr).toContain('"msg":"audit session.revoked"'); // the CLI's log mirror

    const again = await cli('sessions', 'revoke', '--username', user.username, '--family', phoneFamily);
    expect(again.code).not.toBe(0);
    expect(again.stdout).toBe('');
    expect(errorOf(again.stderr)).toEqual({
      error: 'not_found',
      error_description: 'this user has no live session with that id',
    });
  });

  it('sessions revoke --all logs out everywhere, as DELETE /admin/users/{id}/sessions does', async () => {
    const user = await createUser(server);
    const devices = [
      await signInDevice(server, client, user, 'Phone/1.0'),
      await signInDevice(server, client, user, 'Laptop/2.0'),
    ];
    const families = await Promise.all(devices.map(async (d) => (await familyOf(server, d.refresh_token)).id));

    const res = await cli('sessions', 'revoke', '--username', user.username, '--all');
    expect(res.code).toBe(0);
    const printed = res.json as { user_id: string; revoked: string[]; not_before: string };
    expect(printed).toEqual({ user_id: user.id, revoked: expect.any(Array), not_before: expect.stringMatching(/Z$/) });
    expect([...printed.revoked].sort()).toEqual([...families].sort());
    for (const device of devices) {
      expect((await refresh(server, client, device.refresh_token)).body).toEqual(REVOKED);
      expect((await introspect(server, client, device.access_token)).body).toEqual({ active: false });
    }
    const [found] = (await adminCall(server, 'GET', `/admin/users?username=${user.username}`, { token })).body.items;
    expect(found.not_before).toBe(printed.not_before);
    const types = (
      await adminCall(server, 'GET', `/admin/audit?user_id=${user.id}&limit=200`, { token })
    ).body.items.map((e: { type: string }) => e.type);
    expect(types.slice(0, 3).sort()).toEqual(['session.revoked', 'session.revoked', 'user.logged_out_everywhere']);
  });

  it('clients rotate-secret prints a new secret; the old one stops working at once', async () => {
    const service = await createTestClient(server, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'profile',
    });
    const res = await cli('clients', 'rotate-secret', '--client-id', service.client_id);
    expect(res.code).toBe(0);
    expect(res.json).toEqual({
      client_id: service.client_id,
      client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    const secret = (res.json as { client_secret: string }).client_secret;
    expect((await tokenRequest(server, service, { grant_type: 'client_credentials', scope: 'profile' })).status).toBe(
      401,
    );
    expect(
      (
        await tokenRequest(
          server,
          { client_id: service.client_id, client_secret: secret },
          { grant_type: 'client_credentials', scope: 'profile' },
        )
      ).status,
    ).toBe(200);
    const events = await adminCall(
      server,
      'GET',
      `/admin/audit?client_id=${service.client_id}&type=client.secret_rotated`,
      { token },
    );
    expect(events.body.items.map((e: { detail: unknown }) => e.detail)).toEqual([{ via: 'cli' }]);
  });

  it.each([
    [
      ['clients', 'rotate-secret', '--client-id', 'no-such-client'],
      { error: 'not_found', error_description: 'no client no-such-client' },
    ],
    [
      ['sessions', 'list', '--username', 'nobody_here'],
      { error: 'not_found', error_description: 'no user nobody_here' },
    ],
    [
      ['sessions', 'revoke', '--username', 'nobody_here'],
      { error: 'invalid_request', error_description: 'give exactly one of --family F or --all' },
    ],
    [
      ['sessions', 'revoke', '--username', 'nobody_here', '--all', '--family', 'f'],
      { error: 'invalid_request', error_description: 'give exactly one of --family F or --all' },
    ],
    [['sessions', 'list'], { error: 'invalid_request', error_description: '--username is required' }],
  ])('%j fails with a JSON error and nothing on stdout', async (args, error) => {
    const res = await cli(...args);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(errorOf(res.stderr)).toEqual(error);
  });
});

describe('CLI parity on the embedded database (server running)', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer('embedded');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('sessions revoke --all through the server’s socket: refresh tokens refused, access tokens inactive (not-before)', async () => {
    const client = await createTestClient(server);
    const user = await createUser(server);
    const device = await signInDevice(server, client, user, 'Phone/1.0');

    const listed = await runCliInProcess(['sessions', 'list', '--username', user.username], { env: server.env });
    expect(listed.code).toBe(0);
    expect((listed.json as { id: string }[]).map((s) => s.id)).toEqual([
      (await familyOf(server, device.refresh_token)).id,
    ]);

    const res = await runCliInProcess(['sessions', 'revoke', '--username', user.username, '--all'], {
      env: server.env,
    });
    expect(res.code).toBe(0);
    expect((res.json as { revoked: string[] }).revoked).toHaveLength(1);
    expect((await refresh(server, client, device.refresh_token)).body).toEqual(REVOKED);
    // The CLI cannot reach the server's in-process store; the account's not-before makes the token inactive.
    expect((await introspect(server, client, device.access_token)).body).toEqual({ active: false });
  });
});
