// After logout everywhere, a browser session from before it must sign in again: otherwise it could mint new
// tokens without the user.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { Browser, parseForm, pkce } from '../support/browser.js';
import { authorizationUrl, createTestClient, createUser, obtainTokens } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';

describe('browser sessions and logout everywhere', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external');
  });
  afterAll(() => server?.stop());

  it('sends an earlier session back to the login page', async () => {
    const client = await createTestClient(server);
    const user = await createUser(server);
    const browser = new Browser(server.url);
    await obtainTokens(server, client, user, { browser, scope: 'openid' });

    // Signed in and consented: a new request goes straight back with a code.
    const again = await browser.follow(
      await browser.get(authorizationUrl(server, client, pkce().challenge, { scope: 'openid', prompt: '' })),
    );
    expect(new URL(again.url).searchParams.get('code')).toEqual(expect.any(String));

    await new Promise((r) => setTimeout(r, 1100)); // the session's login second must be strictly earlier
    await server.db.prisma.account.update({ where: { id: user.id }, data: { notBefore: new Date() } });
    const after = await browser.follow(
      await browser.get(authorizationUrl(server, client, pkce().challenge, { scope: 'openid', prompt: '' })),
    );
    expect(after.res.status).toBe(200);
    expect(parseForm(await after.res.text()).inputs).toEqual(['username', 'password']);
  });
});
