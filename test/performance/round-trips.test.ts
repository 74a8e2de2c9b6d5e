// The round-trip budget: a refresh costs at most 3 PostgreSQL round trips. Counted, not timed: every
// query the pool sends is reported by the database layer.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { createTestClient, createUser, introspect, obtainTokens, refresh, tokenRequest } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';

describe('PostgreSQL round trips', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external');
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

  it('spends at most 3 per refresh (with an ID token), every time', async () => {
    const client = await createTestClient(server);
    let token = (await obtainTokens(server, client, await createUser(server))).refresh_token;
    for (let i = 0; i < 5; i++) {
      const { result, queries } = await count(() => refresh(server, client, token));
      expect(result.status).toBe(200);
      expect(result.body.id_token).toEqual(expect.any(String));
      expect(queries).toBeLessThanOrEqual(3);
      token = result.body.refresh_token as string;
    }
  });

  it('spends 1 per introspection of an access token (its grant, with the account’s not-before), none for client_credentials once cached', async () => {
    const client = await createTestClient(server);
    const tokens = await obtainTokens(server, client, await createUser(server));
    const seen = await count(() => introspect(server, client, tokens.access_token));
    expect(seen.result.body.active).toBe(true);
    expect(seen.queries).toBe(1);

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

  it('counts what it should (a sanity check of the counter itself)', async () => {
    const { queries } = await count(() => server.db.sql.query('SELECT 1'));
    expect(queries).toBe(1);
  });
});
