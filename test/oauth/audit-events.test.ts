// Sign-in and consent leave an audit trail, in the table and in the log.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { Browser, parseForm, pkce } from '../support/browser.js';
import { authorizationUrl, createTestClient, createUser, obtainTokens } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';

describe('audit of sign-in and consent', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external');
  });
  afterAll(() => server?.stop());

  it('records failed and successful logins and granted consent', async () => {
    const user = await createUser(server);
    const client = await createTestClient(server);
    const browser = new Browser(server.url);
    const start = await browser.follow(await browser.get(authorizationUrl(server, client, pkce().challenge)));
    await browser.postForm(parseForm(await start.res.text()).action!, {
      username: user.username,
      password: 'wrong-password',
    });
    await obtainTokens(server, client, user, { scope: 'openid offline_access profile' });

    const events = await server.db.sql.query<{
      type: string;
      outcome: string;
      account_id: string | null;
      client_id: string;
      detail: Record<string, unknown>;
      ip: string;
    }>('SELECT type, outcome, account_id, client_id, detail, ip FROM audit_events WHERE client_id = $1 ORDER BY id', [
      client.client_id,
    ]);
    expect(events.map((e) => [e.type, e.outcome, e.account_id])).toEqual([
      ['login.failed', 'failure', null],
      ['login.succeeded', 'success', user.id],
      ['consent.granted', 'success', user.id],
    ]);
    expect(events[0]!.detail).toEqual({ username: user.username });
    expect(events[2]!.detail).toEqual({ scope: 'openid offline_access profile' });
    expect(events.every((e) => /127\.0\.0\.1|::1/.test(e.ip))).toBe(true);
    const log = server.logs.join('');
    expect(log).toContain('"msg":"audit login.failed"');
    expect(log).toContain('"msg":"audit consent.granted"');
    expect(log).not.toContain('wrong-password');
  });
});
