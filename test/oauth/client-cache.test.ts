// Client lookups are cached per instance, each copy checked against the client's version in the shared store:
// a change made on one instance is seen at once by every instance.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { createTestClient, tokenRequest } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';

describe('client cache across instances', () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    a = await startServer('external', { CLIENT_CACHE_SECONDS: '60' });
    b = await a.sibling();
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('refuses a rotated secret at once, on every instance', async () => {
    const admin = await createTestClient(a, { admin: true, redirectUris: [] });
    const machine = await createTestClient(a, { grantTypes: ['client_credentials'], redirectUris: [], scopes: 'admin' });
    const adminToken = (await tokenRequest(a, admin, { grant_type: 'client_credentials', scope: 'admin' })).body.access_token as string;
    expect((await tokenRequest(b, machine, { grant_type: 'client_credentials' })).status).toBe(200); // B caches it

    const rotated = await fetch(`${a.url}/admin/clients/${machine.client_id}/secret`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
    expect(rotated.status).toBe(200);
    const { client_secret } = (await rotated.json()) as { client_secret: string };

    expect((await tokenRequest(a, machine, { grant_type: 'client_credentials' })).status).toBe(401);
    expect((await tokenRequest(b, machine, { grant_type: 'client_credentials' })).status).toBe(401);
    expect((await tokenRequest(b, { client_id: machine.client_id, client_secret }, { grant_type: 'client_credentials' })).status).toBe(200);
  });
});
