// Calling the admin API as an operator's tool would: an admin client, a client_credentials token with the scope
// admin, then JSON over HTTP. Also a device (a sign-in with its own user agent) to fill the sessions list.
import type { ClientView } from '../../src/clients/clients.js';
import { authorize, createTestClient, tokenRequest, type Tokens, type User } from '../support/oauth.js';
import type { TestServer } from '../support/server.js';

export interface AdminResponse {
  status: number;
  headers: Headers;
  // `any` on purpose: the tests assert the body field by field.
  body: any;
}

export interface AdminCall {
  token?: string | undefined;
  /** Sent as JSON unless a string (sent as is). */
  body?: unknown;
  headers?: Record<string, string>;
}

export async function adminCall(
  server: TestServer,
  method: string,
  path: string,
  { token, body, headers = {} }: AdminCall = {},
): Promise<AdminResponse> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: the raw text is what the test sees
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A token from the client_credentials grant; fails loudly when the grant does. */
export async function clientCredentialsToken(server: TestServer, client: ClientView, scope = 'admin'): Promise<string> {
  const res = await tokenRequest(server, client, { grant_type: 'client_credentials', scope });
  if (res.status !== 200) throw new Error(`client_credentials failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token as string;
}

/** A fresh admin client (`clients create --admin`) and its token. */
export async function adminToken(server: TestServer): Promise<{ client: ClientView; token: string }> {
  const client = await createTestClient(server, { admin: true, redirectUris: [] });
  return { client, token: await clientCredentialsToken(server, client) };
}

/** Signs `user` in to `client` as a device with its own user agent: the code exchange starts its family. */
export async function signInDevice(
  server: TestServer,
  client: ClientView,
  user: User,
  userAgent: string,
): Promise<Tokens> {
  const { code, verifier } = await authorize(server, client, user);
  const res = await tokenRequest(
    server,
    client,
    { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: client.redirect_uris[0]! },
    { 'user-agent': userAgent },
  );
  if (res.status !== 200) throw new Error(`code exchange failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as unknown as Tokens;
}
