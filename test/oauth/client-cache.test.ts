// Client lookups are cached per instance. A change made on one instance is announced to every instance (a message
// on the store, and a new version in it): seen at once everywhere, and while the announcements are heard a cached
// lookup costs no store read at all.
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
    const machine = await createTestClient(a, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'admin',
    });
    const adminToken = (await tokenRequest(a, admin, { grant_type: 'client_credentials', scope: 'admin' })).body
      .access_token as string;
    expect((await tokenRequest(b, machine, { grant_type: 'client_credentials' })).status).toBe(200); // B caches it

    const rotated = await fetch(`${a.url}/admin/clients/${machine.client_id}/secret`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(rotated.status).toBe(200);
    const { client_secret } = (await rotated.json()) as { client_secret: string };

    expect((await tokenRequest(a, machine, { grant_type: 'client_credentials' })).status).toBe(401);
    expect((await tokenRequest(b, machine, { grant_type: 'client_credentials' })).status).toBe(401);
    expect(
      (await tokenRequest(b, { client_id: machine.client_id, client_secret }, { grant_type: 'client_credentials' }))
        .status,
    ).toBe(200);
  });

  /** Store reads (GET) instance `server` made so far, from its own metrics. */
  async function storeGets(server: TestServer): Promise<number> {
    const text = await server.metrics.registry.getSingleMetricAsString('tollgate_store_command_duration_seconds');
    return [...text.matchAll(/^tollgate_store_command_duration_seconds_count\{command="get",[^}]*\} (\d+)$/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
  }

  it('answers a cached client from memory, without a store read', async () => {
    const machine = await createTestClient(a, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'admin',
    });
    expect((await tokenRequest(b, machine, { grant_type: 'client_credentials' })).status).toBe(200);
    const before = await storeGets(b);
    for (let i = 0; i < 3; i++)
      expect((await tokenRequest(b, machine, { grant_type: 'client_credentials' })).status).toBe(200);
    expect(await storeGets(b)).toBe(before);
  });

  it('still refuses a rotated secret at once after the instances lost their subscriptions', async () => {
    const admin = await createTestClient(a, { admin: true, redirectUris: [] });
    const machine = await createTestClient(a, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'admin',
    });
    const adminToken = (await tokenRequest(a, admin, { grant_type: 'client_credentials', scope: 'admin' })).body
      .access_token as string;
    expect((await tokenRequest(b, machine, { grant_type: 'client_credentials' })).status).toBe(200); // B caches it

    // Every subscriber connection of both instances (named after their shared key prefix) is cut: each instance holds
    // one per channel it listens to (client changes, signing-key announcements), so at least one each.
    const redis = (a.store as unknown as { client: { call(...args: string[]): Promise<unknown> } }).client;
    const list = String(await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
    const ids = list
      .split('\n')
      .filter((l) => l.includes(` name=${a.config.redisKeyPrefix}subscriber `))
      .map((l) => /\bid=(\d+)/.exec(l)![1]!);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    for (const id of ids) await redis.call('CLIENT', 'KILL', 'ID', id);

    const rotated = await fetch(`${a.url}/admin/clients/${machine.client_id}/secret`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(rotated.status).toBe(200);
    expect((await tokenRequest(b, machine, { grant_type: 'client_credentials' })).status).toBe(401);
  });
});
