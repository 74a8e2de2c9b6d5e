// The admin API on the embedded default (PGlite and the in-process store), end to end: an admin token, a client
// registered over the API, a user's sessions listed, one device logged out, then everywhere, and the audit trail.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { ClientView } from '../../src/clients/clients.js';
import { createUser, introspect, refresh, REDIRECT_URI } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';
import { adminCall, adminToken, signInDevice } from './helpers.js';

describe('admin API (embedded storage)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('embedded');
  });
  afterAll(() => server?.stop());

  it('registers a client, lists and revokes sessions, and shows the audit trail', async () => {
    const { token } = await adminToken(server);
    const call = (method: string, path: string, body?: unknown) => adminCall(server, method, path, { token, body });

    const created = await call('POST', '/admin/clients', { name: 'Embedded app', redirect_uris: [REDIRECT_URI] });
    expect(created.status).toBe(201);
    const client = created.body as ClientView;
    const user = await createUser(server);
    const phone = await signInDevice(server, client, user, 'Phone/1.0');
    const laptop = await signInDevice(server, client, user, 'Laptop/2.0');

    const found = await call('GET', `/admin/users?username=${user.username}`);
    expect(found.body.items.map((u: { id: string }) => u.id)).toEqual([user.id]);
    const sessions = await call('GET', `/admin/users/${user.id}/sessions`);
    expect(sessions.body.items.map((s: { user_agent: string }) => s.user_agent)).toEqual(['Laptop/2.0', 'Phone/1.0']);

    const phoneSession = sessions.body.items[1].id as string;
    expect((await call('DELETE', `/admin/users/${user.id}/sessions/${phoneSession}`)).status).toBe(204);
    expect((await refresh(server, client, phone.refresh_token)).body.error).toBe('invalid_grant');
    expect((await introspect(server, client, phone.access_token)).body).toEqual({ active: false });
    const laptop2 = await refresh(server, client, laptop.refresh_token, { 'user-agent': 'Laptop/2.0' });
    expect(laptop2.status).toBe(200);

    expect((await call('DELETE', `/admin/users/${user.id}/sessions`)).status).toBe(204);
    expect((await refresh(server, client, laptop2.body.refresh_token as string)).body.error).toBe('invalid_grant');
    expect((await introspect(server, client, laptop2.body.access_token as string)).body).toEqual({ active: false });

    const trail = await call('GET', `/admin/audit?user_id=${user.id}&limit=200`);
    expect(trail.body.items.map((e: { type: string }) => e.type).slice(0, 4)).toEqual([
      'session.revoked',
      'user.logged_out_everywhere',
      'refresh_token.rotated',
      'session.revoked',
    ]);
    const rotated = await call('POST', `/admin/clients/${client.client_id}/secret`);
    expect(rotated.status).toBe(200);
    expect(
      (await call('GET', `/admin/audit?client_id=${client.client_id}&type=client.secret_rotated`)).body.items,
    ).toHaveLength(1);
  });
});
