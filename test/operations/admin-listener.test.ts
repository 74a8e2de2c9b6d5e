// ADMIN_PORT: the admin API on a listener of its own (loopback by default); the public port then answers 404 under
// /admin, and the admin listener serves nothing else.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { freePort } from '../support/process.js';
import { MODES, startServer, type TestServer } from '../support/server.js';
import { adminToken } from '../admin/helpers.js';

describe.each(MODES)('admin API on its own listener (%s)', (mode) => {
  let server: TestServer;
  let adminPort: number;
  beforeAll(async () => {
    adminPort = await freePort();
    server = await startServer(mode, { ADMIN_PORT: String(adminPort) });
  });
  afterAll(() => server?.stop());

  it('serves the admin API on ADMIN_PORT, bound to 127.0.0.1', async () => {
    expect(server.adminUrl).toBe(`http://127.0.0.1:${adminPort}`);
    const { token } = await adminToken(server); // tokens still come from the public /token
    const res = await fetch(`${server.adminUrl}/admin/clients`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ items: expect.any(Array) });
    expect((await fetch(`${server.adminUrl}/admin/clients`)).status).toBe(401);
    expect((await fetch(`${server.adminUrl}/admin/openapi.json`)).status).toBe(200);
  });

  it('answers 404 under /admin on the public port, and 404 outside /admin on the admin port', async () => {
    const { token } = await adminToken(server);
    for (const path of ['/admin/clients', '/admin/openapi.json', '/admin']) {
      const res = await fetch(`${server.url}${path}`, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: 'not_found' });
    }
    for (const path of ['/token', '/.well-known/openid-configuration', '/jwks']) {
      expect((await fetch(`${server.adminUrl}${path}`)).status).toBe(404);
    }
    // The public side still works.
    expect((await fetch(`${server.url}/.well-known/openid-configuration`)).status).toBe(200);
  });
});
