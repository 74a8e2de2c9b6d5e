// The sign-in and consent forms are protected by more than their SameSite=Lax interaction cookie: a CSRF token bound
// to the interaction (src/request/csrf.ts) and a check that the post comes from this server's own origin. Each refusal
// here is made by a browser that DOES hold the interaction cookie (the worst case: a sibling subdomain, or a browser
// not enforcing SameSite), so only the token and origin checks stand in the way.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { Browser, parseForm, pkce } from '../support/browser.js';
import { authorizationUrl, createTestClient, createUser, type User } from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';
import type { ClientView } from '../../src/clients/clients.js';

describe.each(MODES)('CSRF protection of the sign-in and consent forms (%s storage)', (mode) => {
  let server: TestServer;
  let user: User;
  let client: ClientView;

  beforeAll(async () => {
    server = await startServer(mode);
    user = await createUser(server);
    client = await createTestClient(server);
  });
  afterAll(() => server?.stop());

  const origin = () => new URL(server.config.issuer).origin;

  /** A browser standing at the login page of a fresh interaction. */
  async function atLogin() {
    const browser = new Browser(server.url);
    const start = await browser.follow(await browser.get(authorizationUrl(server, client, pkce().challenge)));
    const page = await start.res.text();
    return { browser, action: new URL(parseForm(page).action!, start.url).toString(), page };
  }

  /** A browser standing at the consent page, signed in. */
  async function atConsent() {
    const { browser, action } = await atLogin();
    const consent = await browser.follow(
      await browser.postForm(
        action,
        { username: user.username, password: user.password },
        { headers: { origin: origin() } },
      ),
    );
    const page = await consent.res.text();
    expect(page).toContain('value="allow"');
    return { browser, action: new URL(parseForm(page).action!, consent.url).toString(), page };
  }

  const refused = async (res: Response) => {
    expect(res.status).toBe(403);
    expect(res.headers.get('location')).toBeNull();
    const page = await res.text();
    expect(page).toContain('invalid_request');
    return page;
  };

  it('puts a token bound to the interaction in each form', async () => {
    const { page } = await atLogin();
    expect(page).toMatch(/<input type="hidden" name="csrf_token" value="[\w-]{43}">/);
    const other = await atLogin();
    expect(/name="csrf_token" value="([\w-]+)"/.exec(other.page)![1]).not.toBe(
      /name="csrf_token" value="([\w-]+)"/.exec(page)![1],
    );
  });

  it('refuses a cross-site form post of consent, then accepts the same browser posting from the page itself', async () => {
    const { browser, action } = await atConsent();
    // A page on another site posting the consent form, with the victim's cookies and even a valid token.
    await refused(
      await browser.postForm(action, { decision: 'allow' }, { headers: { origin: 'https://evil.example' } }),
    );
    await refused(
      await browser.postForm(action, { decision: 'allow' }, { headers: { 'sec-fetch-site': 'cross-site' } }),
    );
    await refused(
      await browser.postForm(action, { decision: 'allow' }, { headers: { 'sec-fetch-site': 'same-site' } }),
    );
    await refused(await browser.postForm(action, { decision: 'allow' }, { headers: { origin: 'null' } }));
    await refused(
      await browser.postForm(action, { decision: 'allow' }, { headers: { referer: 'https://evil.example/page' } }),
    );
    // No token, an empty one, or a forged one, even from this origin.
    await refused(
      await browser.postForm(action, { decision: 'allow' }, { withoutHidden: true, headers: { origin: origin() } }),
    );
    await refused(
      await browser.postForm(action, { decision: 'allow', csrf_token: '' }, { headers: { origin: origin() } }),
    );
    await refused(
      await browser.postForm(
        action,
        { decision: 'allow', csrf_token: 'A'.repeat(43) },
        { headers: { origin: origin() } },
      ),
    );

    // None of that consented: the interaction is still waiting, and the real page's post completes it.
    const done = await browser.follow(
      await browser.postForm(
        action,
        { decision: 'allow' },
        { headers: { origin: origin(), 'sec-fetch-site': 'same-origin' } },
      ),
    );
    expect(new URL(done.url).searchParams.get('code')).toEqual(expect.any(String));
  });

  it("refuses another interaction's token", async () => {
    const first = await atConsent();
    const second = await atConsent();
    const stolen = /name="csrf_token" value="([\w-]+)"/.exec(first.page)![1]!;
    await refused(
      await second.browser.postForm(
        second.action,
        { decision: 'allow', csrf_token: stolen },
        { headers: { origin: origin() } },
      ),
    );
  });

  it('refuses a cross-site sign-in post without counting it as a failed sign-in', async () => {
    const { browser, action } = await atLogin();
    await refused(
      await browser.postForm(
        action,
        { username: user.username, password: user.password },
        { headers: { origin: 'https://evil.example' } },
      ),
    );
    await refused(
      await browser.postForm(action, { username: user.username, password: user.password }, { withoutHidden: true }),
    );
    const failed = await server.db.sql.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM audit_events WHERE type = 'login.failed' AND client_id = $1",
      [client.client_id],
    );
    expect(failed[0]!.n).toBe(0);
    // The same browser, from the page itself, signs in.
    const ok = await browser.postForm(
      action,
      { username: user.username, password: user.password },
      { headers: { origin: origin() } },
    );
    expect(ok.status).toBe(303);
  });
});
