// Shared by the people tests: a sign-in attempt through the real login page (to see what a refused user sees), a
// user with tokens of every kind (opaque with a family, opaque without, JWT for a resource server), and the checks
// that all of them are dead or alive.
import { expect } from '@jest/globals';

import type { ClientView } from '../../src/clients/clients.js';
import { setAllowance } from '../../src/clients/allowances.js';
import { registerResourceServer } from '../../src/clients/resource-servers.js';
import { Browser, parseForm, pkce } from '../support/browser.js';
import {
  authorizationUrl,
  createTestClient,
  introspect,
  obtainTokens,
  refresh,
  type Tokens,
  type User,
} from '../support/oauth.js';
import type { TestServer } from '../support/server.js';

export const GENERIC_LOGIN_ERROR = 'Invalid username or password.';

/** Signs in through the login page with these credentials; the page shown afterwards (or the redirect). */
export async function signInAttempt(server: TestServer, client: ClientView, username: string, password: string) {
  const browser = new Browser(server.url);
  let { res, url } = await browser.follow(await browser.get(authorizationUrl(server, client, pkce().challenge)));
  const form = parseForm(await res.text());
  ({ res, url } = await browser.follow(
    await browser.postForm(new URL(form.action!, url).toString(), { username, password }),
  ));
  return { status: res.status, url, page: res.status === 200 ? await res.text() : '' };
}

export interface Apps {
  app: ClientView;
  api: ClientView;
  apiUrl: string;
}

export async function createApps(server: TestServer): Promise<Apps> {
  const api = await createTestClient(server, { grantTypes: ['client_credentials'], redirectUris: [], scopes: 'admin' });
  const apiUrl = `https://api-${api.client_id.slice(0, 8).toLowerCase()}.example.com`;
  await registerResourceServer(server.db.prisma, api.client_id, apiUrl, 'read');
  const app = await createTestClient(server);
  await setAllowance(server.db.prisma, app.client_id, apiUrl, ['read']);
  return { app, api, apiUrl };
}

export interface HeldTokens {
  withFamily: Tokens;
  withoutFamily: Tokens;
  jwt: Tokens;
}

/** Signs the user in three times: opaque tokens with a refresh family, without one, and a JWT for the API. */
export async function tokensOf(server: TestServer, { app, apiUrl }: Apps, user: User): Promise<HeldTokens> {
  return {
    withFamily: await obtainTokens(server, app, user, { scope: 'openid offline_access email' }),
    withoutFamily: await obtainTokens(server, app, user, { scope: 'openid email' }),
    jwt: await obtainTokens(server, app, user, { scope: 'openid offline_access read', extra: { resource: apiUrl } }),
  };
}

export const userinfo = (server: TestServer, token: string) =>
  fetch(`${server.url}/me`, { headers: { authorization: `Bearer ${token}` } });

/** Every token of `held` is (alive) usable, or (dead) refused everywhere, on `server`. */
export async function expectTokens(server: TestServer, { app, api }: Apps, held: HeldTokens, state: 'alive' | 'dead') {
  const active = state === 'alive';
  for (const tokens of [held.withFamily, held.withoutFamily]) {
    expect((await introspect(server, app, tokens.access_token)).body.active).toBe(active);
    expect((await userinfo(server, tokens.access_token)).status).toBe(active ? 200 : 401);
  }
  expect((await introspect(server, api, held.jwt.access_token)).body.active).toBe(active);
  expect((await introspect(server, app, held.jwt.access_token)).body.active).toBe(active);
  if (!active) {
    for (const tokens of [held.withFamily, held.jwt])
      expect((await refresh(server, app, tokens.refresh_token)).body.error).toBe('invalid_grant');
  }
}
