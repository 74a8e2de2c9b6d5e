// OAuth client-side helpers for tests: register users and clients, walk the code + PKCE flow through the real
// pages, and call the token, introspection and revocation endpoints as a client would.
import { randomBytes } from 'node:crypto';

import { createAccount } from '../../src/accounts/accounts.js';
import { createClient, type ClientInput, type ClientView } from '../../src/clients/clients.js';
import { Browser, parseForm, pkce } from './browser.js';
import type { TestServer } from './server.js';

export const REDIRECT_URI = 'https://client.example.com/cb';

/** Where a server answers: the HTTP helpers below need nothing more, so they drive a server process too. */
export type Reachable = Pick<TestServer, 'url'>;

export interface User {
  id: string;
  username: string;
  password: string;
}

export async function createUser(
  server: TestServer,
  username = `user${randomBytes(4).toString('hex')}`,
): Promise<User> {
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const account = await createAccount(server.db.prisma, { username, password, email: `${username}@example.com` });
  return { id: account.id, username, password };
}

export function createTestClient(server: TestServer, input: Partial<ClientInput> = {}): Promise<ClientView> {
  return createClient(server.db.prisma, server.hash, { name: 'Test client', redirectUris: [REDIRECT_URI], ...input });
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function asJson(res: Response): Promise<JsonResponse> {
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: res.status, headers: res.headers, body };
}

/** POSTs a form to an endpoint, authenticating as the client (Basic for confidential clients). */
export async function postAsClient(
  server: Reachable,
  path: string,
  client: Pick<ClientView, 'client_id' | 'client_secret'>,
  params: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  const auth: Record<string, string> = client.client_secret
    ? {
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`).toString('base64')}`,
      }
    : {};
  const body = new URLSearchParams(client.client_secret ? params : { client_id: client.client_id, ...params });
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...auth, ...headers },
    body,
  });
  return asJson(res);
}

export const tokenRequest = (
  server: Reachable,
  client: Pick<ClientView, 'client_id' | 'client_secret'>,
  params: Record<string, string>,
  headers?: Record<string, string>,
) => postAsClient(server, '/token', client, params, headers);

export const refresh = (
  server: Reachable,
  client: ClientView,
  refreshToken: string,
  headers?: Record<string, string>,
) => tokenRequest(server, client, { grant_type: 'refresh_token', refresh_token: refreshToken }, headers);

export const introspect = (server: Reachable, client: Pick<ClientView, 'client_id' | 'client_secret'>, token: string) =>
  postAsClient(server, '/token/introspection', client, { token });

export const revoke = (server: Reachable, client: ClientView, token: string, hint?: string) =>
  postAsClient(server, '/token/revocation', client, { token, ...(hint ? { token_type_hint: hint } : {}) });

export interface AuthorizeOptions {
  scope?: string;
  prompt?: string;
  extra?: Record<string, string>;
  browser?: Browser;
  /** Stop at the consent page and answer it with this decision. */
  decision?: 'allow' | 'deny';
}

export interface Authorized {
  code: string;
  verifier: string;
  redirect: URL;
  browser: Browser;
}

/** The authorization request's URL (with PKCE S256 unless overridden in `extra`). */
export function authorizationUrl(
  server: Reachable,
  client: ClientView,
  challenge: string,
  opts: AuthorizeOptions = {},
) {
  const params = new URLSearchParams({
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: client.redirect_uris[0] ?? REDIRECT_URI,
    scope: opts.scope ?? 'openid offline_access',
    state: randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...(opts.prompt !== '' ? { prompt: opts.prompt ?? 'consent' } : {}),
    ...opts.extra,
  });
  return `${server.url}/auth?${params}`;
}

/** Walks the whole browser flow: authorization request → login page → consent page → redirect with a code. */
export async function authorize(
  server: Reachable,
  client: ClientView,
  user: User,
  opts: AuthorizeOptions = {},
): Promise<Authorized> {
  const browser = opts.browser ?? new Browser(server.url);
  const { verifier, challenge } = pkce();
  let { res, url } = await browser.follow(await browser.get(authorizationUrl(server, client, challenge, opts)));

  for (let step = 0; step < 4 && res.status === 200; step++) {
    const page = await res.text();
    const form = parseForm(page);
    if (!form.action) throw new Error(`no form on page ${url}: ${page.slice(0, 300)}`);
    const fields: Record<string, string> = form.inputs.includes('password')
      ? { username: user.username, password: user.password }
      : { decision: opts.decision ?? 'allow' };
    ({ res, url } = await browser.follow(await browser.postForm(new URL(form.action, url).toString(), fields)));
  }
  const redirect = new URL(url);
  const code = redirect.searchParams.get('code');
  if (!code) throw Object.assign(new Error(`no code in ${url} (status ${res.status})`), { redirect });
  return { code, verifier, redirect, browser };
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  id_token?: string;
  expires_in: number;
  scope: string;
  token_type: string;
}

export const exchangeCode = (server: Reachable, client: ClientView, code: string, verifier: string) =>
  tokenRequest(server, client, {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: client.redirect_uris[0] ?? REDIRECT_URI,
  });

/** A full flow ending in tokens; fails loudly when any step does. */
export async function obtainTokens(
  server: Reachable,
  client: ClientView,
  user: User,
  opts: AuthorizeOptions = {},
): Promise<Tokens> {
  const { code, verifier } = await authorize(server, client, user, opts);
  const res = await exchangeCode(server, client, code, verifier);
  if (res.status !== 200) throw new Error(`code exchange failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as unknown as Tokens;
}
