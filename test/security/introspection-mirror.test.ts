// Introspection answers from the store's copy of grants and accounts (src/store/mirror.ts), and every revocation path
// keeps that copy honest: an access token introspected active (which fills the copy) is `active: false` right after
// the revocation, over HTTP, as a resource server calls the endpoint. Each user holds an opaque token with a refresh
// family, one without (no family reaches it: only the copy of its grant or account can end it) and a JWT for an
// API. Losing the copy (evicted, flushed) means "read PostgreSQL again", never "active".
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { adminCall, adminToken } from '../admin/helpers.js';
import { createApps, tokensOf, type Apps, type HeldTokens } from '../people/helpers.js';
import { Browser } from '../support/browser.js';
import { createTestClient, createUser, introspect, refresh, revoke, type User } from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

const csrfOf = (page: string) => /name="csrf_token" value="([^"]+)"/.exec(page)?.[1] ?? '';

/** Signs in to the account page and posts its forms, as a plain HTML browser does. */
async function accountPage(server: TestServer, user: User) {
  const browser = new Browser(server.url);
  let page = await (await browser.follow(await browser.request('/account'))).res.text();
  const post = async (path: string, fields: Record<string, string>) => {
    const res = await browser.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf_token: csrfOf(page), ...fields }).toString(),
    });
    expect(res.status).toBe(303);
    page = await (await browser.follow(await browser.request(res.headers.get('location')!))).res.text();
    return page;
  };
  await post('/account/login', { username: user.username, password: user.password });
  return { post, page: () => page };
}

/** What the held tokens introspect as: opaque with a family, opaque without one, and the JWT (asked by its API). */
async function activity(server: TestServer, { app, api }: Apps, held: HeldTokens) {
  return {
    withFamily: (await introspect(server, app, held.withFamily.access_token)).body.active,
    withoutFamily: (await introspect(server, app, held.withoutFamily.access_token)).body.active,
    jwt: (await introspect(server, api, held.jwt.access_token)).body.active,
  };
}
const ALL_ACTIVE = { withFamily: true, withoutFamily: true, jwt: true };
const NONE_ACTIVE = { withFamily: false, withoutFamily: false, jwt: false };

/** The store's copies of grants and accounts (not the tokens themselves). */
async function mirrorKeys(server: TestServer) {
  return (await server.store.entries()).map(([key]) => key).filter((key) => key.startsWith('mirror:'));
}

describe.each(MODES)('introspection from the store, kept correct by every revocation path (%s)', (mode) => {
  let server: TestServer;
  let apps: Apps;
  let token: string;

  beforeAll(async () => {
    server = await startServer(mode);
    apps = await createApps(server);
    ({ token } = await adminToken(server));
  });
  afterAll(() => server?.stop());

  /** A user holding the three tokens, each introspected active once (which fills the store's copies). */
  async function activeUser() {
    const user = await createUser(server);
    const held = await tokensOf(server, apps, user);
    expect(await activity(server, apps, held)).toEqual(ALL_ACTIVE);
    expect((await mirrorKeys(server)).length).toBeGreaterThan(0);
    return { user, held };
  }

  it('family revocation (reuse detection): the family’s access tokens are inactive at once', async () => {
    const { held } = await activeUser();
    const first = held.withFamily.refresh_token;
    const second = (await refresh(server, apps.app, first)).body.refresh_token as string;
    expect((await refresh(server, apps.app, second)).status).toBe(200); // the successor is used: `first` is reuse
    expect((await refresh(server, apps.app, first)).body.error).toBe('invalid_grant');
    expect((await introspect(server, apps.app, held.withFamily.access_token)).body.active).toBe(false);
    // Reuse revokes that family only.
    expect((await introspect(server, apps.app, held.withoutFamily.access_token)).body.active).toBe(true);
  });

  it('grant revocation (RFC 7009 revoke of the refresh token): the grant’s access tokens are inactive', async () => {
    const { held } = await activeUser();
    expect((await revoke(server, apps.app, held.withFamily.refresh_token, 'refresh_token')).status).toBe(200);
    expect((await introspect(server, apps.app, held.withFamily.access_token)).body.active).toBe(false);
    expect((await revoke(server, apps.app, held.jwt.refresh_token, 'refresh_token')).status).toBe(200);
    expect((await introspect(server, apps.api, held.jwt.access_token)).body.active).toBe(false);
  });

  it('grant revocation when the store lost the indexes that reach its tokens: the copy of the grant ends them', async () => {
    const { held } = await activeUser();
    // Evicted, say: revoking can no longer find the tokens to delete them, only the grant itself in PostgreSQL.
    const indexes = (await server.store.entries())
      .map(([key]) => key)
      .filter((key) => key.startsWith('oidc:grant:') || /^rt:family:.*:at$/.test(key));
    expect(indexes.length).toBeGreaterThan(0);
    await server.store.delete(...indexes);
    expect((await revoke(server, apps.app, held.withFamily.refresh_token, 'refresh_token')).status).toBe(200);
    expect((await introspect(server, apps.app, held.withFamily.access_token)).body.active).toBe(false);
    expect((await revoke(server, apps.app, held.jwt.refresh_token, 'refresh_token')).status).toBe(200);
    expect((await introspect(server, apps.api, held.jwt.access_token)).body.active).toBe(false);
  });

  it('consent withdrawn on the account page: the grant’s tokens are inactive, those without a family too', async () => {
    const { user, held } = await activeUser();
    const account = await accountPage(server, user);
    for (;;) {
      const consent = /name="consent" value="([^"]+)"/.exec(account.page())?.[1];
      if (!consent) break;
      await account.post('/account', { action: 'withdraw-consent', consent });
    }
    expect(await activity(server, apps, held)).toEqual(NONE_ACTIVE);
  });

  it('logout everywhere through the admin API', async () => {
    const { user, held } = await activeUser();
    expect((await adminCall(server, 'DELETE', `/admin/users/${user.id}/sessions`, { token })).status).toBe(204);
    expect(await activity(server, apps, held)).toEqual(NONE_ACTIVE);
  });

  it('logout everywhere else on the account page', async () => {
    const { user, held } = await activeUser();
    const account = await accountPage(server, user);
    expect(await account.post('/account', { action: 'sign-out-others' })).toContain(
      'You are signed out everywhere else.',
    );
    expect(await activity(server, apps, held)).toEqual(NONE_ACTIVE);
  });

  it('a password set by an administrator signs the user out everywhere', async () => {
    const { user, held } = await activeUser();
    const res = await adminCall(server, 'POST', `/admin/users/${user.id}/password`, {
      token,
      body: { password: 'a new password, long enough' },
    });
    expect(res.status).toBeLessThan(300);
    expect(await activity(server, apps, held)).toEqual(NONE_ACTIVE);
  });

  it('user disabled: every token inactive; enabled again: new tokens are active (the copy is not stuck)', async () => {
    const { user, held } = await activeUser();
    const body = (disabled: boolean) => ({ token, body: { disabled } });
    expect((await adminCall(server, 'PATCH', `/admin/users/${user.id}`, body(true))).status).toBe(200);
    expect(await activity(server, apps, held)).toEqual(NONE_ACTIVE);
    expect((await adminCall(server, 'PATCH', `/admin/users/${user.id}`, body(false))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1000)); // tokens of the second of the disabling count as earlier
    expect(await activity(server, apps, await tokensOf(server, apps, user))).toEqual(ALL_ACTIVE);
  });

  it('user deleted: every token inactive', async () => {
    const { user, held } = await activeUser();
    expect((await adminCall(server, 'DELETE', `/admin/users/${user.id}`, { token })).status).toBe(204);
    expect(await activity(server, apps, held)).toEqual(NONE_ACTIVE);
  });

  it('client deleted: its tokens are inactive', async () => {
    const own = { ...apps, app: await createTestClient(server) };
    const { setAllowance } = await import('../../src/clients/allowances.js');
    await setAllowance(server.db.prisma, own.app.client_id, apps.apiUrl, ['read']);
    const held = await tokensOf(server, own, await createUser(server));
    expect(await activity(server, own, held)).toEqual(ALL_ACTIVE);
    expect((await adminCall(server, 'DELETE', `/admin/clients/${own.app.client_id}`, { token })).status).toBe(204);
    expect((await introspect(server, apps.api, held.jwt.access_token)).body.active).toBe(false);
    const other = await createTestClient(server); // the deleted client cannot ask any more: another one may not see it
    expect((await introspect(server, other, held.withoutFamily.access_token)).body.active).toBe(false);
  });

  it('the copy lost (evicted or flushed): introspection reads PostgreSQL again, and a revocation still holds', async () => {
    const { user, held } = await activeUser();
    const dropMirror = async () => server.store.delete(...(await mirrorKeys(server)));
    await dropMirror();
    expect(await mirrorKeys(server)).toEqual([]);
    expect(await activity(server, apps, held)).toEqual(ALL_ACTIVE); // read again from PostgreSQL, and copied
    // Copied only into Redis: the embedded default keeps none (PGlite is in-process; the CLI could not invalidate).
    if (mode === 'external') expect((await mirrorKeys(server)).length).toBeGreaterThan(0);
    else expect(await mirrorKeys(server)).toEqual([]);
    await dropMirror();
    expect(
      (await adminCall(server, 'PATCH', `/admin/users/${user.id}`, { token, body: { disabled: true } })).status,
    ).toBe(200);
    expect(await activity(server, apps, held)).toEqual(NONE_ACTIVE);
    await dropMirror();
    expect(await activity(server, apps, held)).toEqual(NONE_ACTIVE); // and not active again once re-read
  });

  it('a grant past its expiry: its tokens are inactive (the copy carries the expiry)', async () => {
    const { user, held } = await activeUser();
    // Grants outlive access tokens by configuration; moved into the past here, and the copies dropped to be re-read.
    await server.db.sql.query(
      `UPDATE oidc_payloads SET payload = jsonb_set(payload, '{exp}', to_jsonb(extract(epoch FROM now())::bigint - 5))
        WHERE model = 'Grant' AND payload->>'accountId' = $1`,
      [user.id],
    );
    await server.store.delete(...(await mirrorKeys(server)));
    expect(await activity(server, apps, held)).toEqual(NONE_ACTIVE);
  });

  it('the whole store flushed: no token introspects active', async () => {
    const { held } = await activeUser();
    server.store.delete(...(await server.store.entries()).map(([key]) => key));
    expect(await activity(server, apps, held)).toEqual(NONE_ACTIVE);
  });
});

describe.each(MODES)('introspection from the store, with REUSE_RESPONSE=account (%s)', (mode) => {
  let server: TestServer;
  let apps: Apps;
  beforeAll(async () => {
    server = await startServer(mode, { REUSE_RESPONSE: 'account' });
    apps = await createApps(server);
  });
  afterAll(() => server?.stop());

  it('a reused refresh token logs the account out everywhere: tokens without a family are inactive too', async () => {
    const user = await createUser(server);
    const held = await tokensOf(server, apps, user);
    expect(await activity(server, apps, held)).toEqual(ALL_ACTIVE);
    const first = held.withFamily.refresh_token;
    const second = (await refresh(server, apps.app, first)).body.refresh_token as string;
    expect((await refresh(server, apps.app, second)).status).toBe(200);
    expect((await refresh(server, apps.app, first)).body.error).toBe('invalid_grant');
    expect(await activity(server, apps, held)).toEqual(NONE_ACTIVE);
  });
});
