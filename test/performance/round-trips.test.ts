// The round-trip budget: a refresh on the common path costs exactly 1 PostgreSQL round trip, the rotating statement
// (the presented token's row comes from its snapshot in the store: src/families/token-snapshots.ts); introspecting an
// access token (opaque or JWT) costs none once the store holds its grant and account (src/store/mirror.ts). Counted,
// not timed: every query the pool sends is reported by the database layer.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { createTestClient, createUser, introspect, obtainTokens, refresh, tokenRequest } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';
import { createApps } from '../people/helpers.js';

describe('PostgreSQL round trips', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external');
    // The back-channel logout queue is polled every second, from this process's pool: a poll inside a counted
    // window would be counted as the request's. Nothing here queues a logout.
    await server.backchannel.stop();
  });
  afterAll(() => server?.stop());

  async function count<T>(fn: () => Promise<T>): Promise<{ result: T; queries: number }> {
    let queries = 0;
    const stop = server.db.observeQueries(() => {
      queries += 1;
    });
    try {
      return { result: await fn(), queries };
    } finally {
      stop();
    }
  }

  it('spends exactly 1 per refresh (with an ID token), every time', async () => {
    const client = await createTestClient(server);
    let token = (await obtainTokens(server, client, await createUser(server))).refresh_token;
    for (let i = 0; i < 5; i++) {
      const { result, queries } = await count(() => refresh(server, client, token));
      expect(result.status).toBe(200);
      expect(result.body.id_token).toEqual(expect.any(String));
      expect(queries).toBe(1);
      token = result.body.refresh_token as string;
    }
  });

  it('spends none per introspection of an opaque access token once the store holds its grant and account, none for client_credentials once cached', async () => {
    const client = await createTestClient(server);
    const tokens = await obtainTokens(server, client, await createUser(server));
    // The first introspection reads the grant and the account from PostgreSQL and fills the store's copies.
    const first = await count(() => introspect(server, client, tokens.access_token));
    expect(first.result.body.active).toBe(true);
    expect(first.queries).toBeLessThanOrEqual(2);
    for (let i = 0; i < 3; i++) {
      const seen = await count(() => introspect(server, client, tokens.access_token));
      expect(seen.result.body).toEqual(expect.objectContaining({ active: true, client_id: client.client_id }));
      expect(seen.queries).toBe(0);
    }

    const machine = await createTestClient(server, {
      grantTypes: ['client_credentials'],
      redirectUris: [],
      scopes: 'admin',
    });
    await tokenRequest(server, machine, { grant_type: 'client_credentials' });
    const again = await count(() => tokenRequest(server, machine, { grant_type: 'client_credentials' }));
    expect(again.result.status).toBe(200);
    expect(again.queries).toBe(0);
  });

  /** Store commands sent while `fn` runs (every method of the server's store, wrapped for the duration). */
  async function countStore<T>(fn: () => Promise<T>): Promise<{ result: T; commands: string[] }> {
    const store = server.store as unknown as Record<string, unknown>;
    const originals = new Map<string, unknown>();
    const commands: string[] = [];
    for (const name of ['get', 'getMany', 'set', 'setIfAbsent', 'delete', 'consume', 'fillMirror', 'setMembers']) {
      const original = store[name] as (...args: unknown[]) => Promise<unknown>;
      originals.set(name, original);
      store[name] = (...args: unknown[]) => {
        commands.push(name);
        return original.apply(server.store, args);
      };
    }
    try {
      return { result: await fn(), commands };
    } finally {
      for (const [name, original] of originals) store[name] = original;
    }
  }

  it('reads the store in three rounds per introspection of an opaque token, two for a JWT (its record; grant and account)', async () => {
    const apps = await createApps(server);
    const user = await createUser(server);
    const opaque = await obtainTokens(server, apps.app, user);
    const jwt = await obtainTokens(server, apps.app, user, {
      scope: 'openid offline_access read',
      extra: { resource: apps.apiUrl },
    });
    await introspect(server, apps.app, opaque.access_token);
    await introspect(server, apps.api, jwt.access_token);
    const o = await countStore(() => introspect(server, apps.app, opaque.access_token));
    expect(o.result.body.active).toBe(true);
    // Three rounds: oidc-provider looks the value up as an access, client-credentials and refresh token at once
    // (three reads together), then the grant's copy, then the account's.
    expect(o.commands).toEqual(['getMany', 'getMany', 'getMany', 'getMany', 'getMany']);
    const j = await countStore(() => introspect(server, apps.api, jwt.access_token));
    expect(j.result.body.active).toBe(true);
    expect(j.commands).toEqual(['getMany', 'getMany']);
  });

  it('spends none per introspection of a JWT access token by its API or its client, once warm', async () => {
    const apps = await createApps(server);
    const tokens = await obtainTokens(server, apps.app, await createUser(server), {
      scope: 'openid offline_access read',
      extra: { resource: apps.apiUrl },
    });
    expect(tokens.access_token.split('.')).toHaveLength(3);
    for (const asker of [apps.api, apps.app]) await introspect(server, asker, tokens.access_token); // warm
    for (const asker of [apps.api, apps.app]) {
      const seen = await count(() => introspect(server, asker, tokens.access_token));
      expect(seen.result.body).toEqual(expect.objectContaining({ active: true, aud: apps.apiUrl }));
      expect(seen.queries).toBe(0);
    }
  });

  it('counts what it should (a sanity check of the counter itself)', async () => {
    const { queries } = await count(() => server.db.sql.query('SELECT 1'));
    expect(queries).toBe(1);
  });
});
