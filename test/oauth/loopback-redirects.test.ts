// Loopback redirect URIs (RFC 8252 §7.3): a native app on the user's device binds whatever port is free, so a public
// native client's loopback URI matches on any port. A confidential client is a server: exact matching, port included.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { Browser, pkce } from '../support/browser.js';
import { authorizationUrl, authorize, createTestClient, createUser, type User } from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';
import type { ClientView } from '../../src/clients/clients.js';

describe.each(MODES)('loopback redirect URIs (%s storage)', (mode) => {
  let server: TestServer;
  let user: User;
  beforeAll(async () => {
    server = await startServer(mode);
    user = await createUser(server);
  });
  afterAll(() => server?.stop());

  /** Where the authorization request for `redirectUri` goes: an error page (status) or onwards (the location). */
  async function start(client: ClientView, redirectUri: string) {
    const res = await new Browser(server.url).get(
      authorizationUrl(server, client, pkce().challenge, { extra: { redirect_uri: redirectUri } }),
    );
    return {
      status: res.status,
      location: res.headers.get('location'),
      page: res.status === 400 ? await res.text() : '',
    };
  }

  it("refuses a confidential client's loopback redirect on another port, and accepts the registered one", async () => {
    const client = await createTestClient(server, { redirectUris: ['http://127.0.0.1:8400/cb'] });
    for (const other of ['http://127.0.0.1:8401/cb', 'http://127.0.0.1/cb', 'http://127.0.0.1:9999/cb']) {
      const refused = await start(client, other);
      expect(refused.status).toBe(400);
      expect(refused.location).toBeNull();
      expect(refused.page).toContain('invalid_redirect_uri');
    }
    const registered = await start(client, 'http://127.0.0.1:8400/cb');
    expect(registered.status).toBe(303);
    expect(registered.location).toMatch(/^\/interaction\//);
    const { redirect } = await authorize(server, client, user);
    expect(redirect.origin).toBe('http://127.0.0.1:8400');
  });

  it('lets a public native client use any port on its loopback redirect', async () => {
    const app = await createTestClient(server, { public: true, redirectUris: ['http://127.0.0.1/callback'] });
    const elsewhere = await start(app, 'http://127.0.0.1:53123/callback');
    expect(elsewhere.status).toBe(303);
    expect(elsewhere.location).toMatch(/^\/interaction\//);
    const { redirect } = await authorize(server, app, user, {
      extra: { redirect_uri: 'http://127.0.0.1:61000/callback' },
    });
    expect(redirect.origin).toBe('http://127.0.0.1:61000');
    expect((await start(app, 'http://127.0.0.1:53123/other')).status).toBe(400); // the path still matches exactly
  });
});
