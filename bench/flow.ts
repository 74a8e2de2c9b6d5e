// One full authorization code + PKCE flow, as a person with a plain HTML browser goes through it: authorization
// request, login page, consent page, redirect with a code, then the client's code exchange. The pages are read
// like a browser reads them (hidden fields, the first named submit button), so the same walk works on Tollgate's
// pages and on node-oidc-provider's dev interactions.
import { randomBytes } from 'node:crypto';

import { Browser, pkce } from '../test/support/browser.js';
import { basicAuth, type HttpClient } from './http-client.js';
import type { Target } from './target.js';

export interface Tokens {
  access_token: string;
  refresh_token: string;
  /** Present where the scope held openid: its header says which algorithm signed it. */
  id_token?: string;
}

interface Form {
  action: string;
  fields: Record<string, string>;
  /** The text input a username goes into (`username` on Tollgate, `login` on the dev pages), if any. */
  userField?: string;
  hasPassword: boolean;
}

const unescape = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

function attributes(tag: string): Record<string, string> {
  return Object.fromEntries(
    [...tag.matchAll(/([a-zA-Z-]+)="([^"]*)"/g)].map(([, k, v]) => [k!.toLowerCase(), unescape(v!)]),
  );
}

function readForm(page: string): Form | undefined {
  const formTag = /<form\b[^>]*>/i.exec(page)?.[0];
  const action = formTag && attributes(formTag).action;
  if (!action) return undefined;
  const fields: Record<string, string> = {};
  let userField: string | undefined;
  let hasPassword = false;
  for (const [tag] of page.matchAll(/<input\b[^>]*>/gi)) {
    const { name, type = 'text', value = '' } = attributes(tag);
    if (!name) continue;
    if (type === 'hidden') fields[name] = value;
    else if (type === 'password') hasPassword = true;
    else if (type === 'text') userField ??= name;
  }
  // Clicking the first submit button sends its name and value (Tollgate's consent page: decision=allow).
  for (const [tag] of page.matchAll(/<button\b[^>]*>/gi)) {
    const { name, value = '' } = attributes(tag);
    if (name) {
      fields[name] = value;
      break;
    }
  }
  return { action, fields, hasPassword, ...(userField ? { userField } : {}) };
}

/** The authorization request every server is sent (code, PKCE S256, a refresh token asked for), and its verifier. */
export function authorizationRequest(target: Target): { params: URLSearchParams; verifier: string } {
  const { verifier, challenge } = pkce();
  const params = new URLSearchParams({
    client_id: target.codeClient.client_id,
    response_type: 'code',
    redirect_uri: target.codeClient.redirect_uri,
    scope: 'openid offline_access',
    state: randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    prompt: 'consent', // OpenID Connect Core §11: offline_access (a refresh token) only with prompt=consent
  });
  return { params, verifier };
}

/** Login and consent through the pages; resolves with the code and the PKCE verifier that goes with it. */
async function authorize(target: Target): Promise<{ code: string; verifier: string }> {
  const browser = new Browser(target.url);
  const { params, verifier } = authorizationRequest(target);
  let { res, url } = await browser.follow(await browser.get(`${target.url}/auth?${params}`));
  for (let step = 0; step < 4 && res.status === 200; step++) {
    const form = readForm(await res.text());
    if (!form) throw new Error(`${target.name}: no form on ${url}`);
    const fields = form.hasPassword
      ? { ...form.fields, [form.userField ?? 'username']: target.user.username, password: target.user.password }
      : form.fields;
    ({ res, url } = await browser.follow(await browser.postForm(new URL(form.action, url).toString(), fields)));
  }
  await res.arrayBuffer(); // releases the connection
  const code = new URL(url).searchParams.get('code');
  if (!code)
    throw new Error(`${target.name}: the flow ended at ${new URL(url).pathname} (status ${res.status}) without a code`);
  return { code, verifier };
}

/** The client's code exchange (with its PKCE verifier) at the target's token endpoint. */
export async function exchangeCode(
  target: Target,
  http: HttpClient,
  { code, verifier }: { code: string; verifier: string },
): Promise<Tokens> {
  const res = await http.postForm(
    target.endpoints.token,
    { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: target.codeClient.redirect_uri },
    { authorization: basicAuth(target.codeClient) },
  );
  let body: Partial<Tokens> & { error?: string; error_description?: string };
  try {
    body = JSON.parse(res.body) as typeof body;
  } catch {
    body = {};
  }
  if (res.status !== 200 || !body.access_token || !body.refresh_token) {
    throw new Error(
      `${target.name}: code exchange answered ${res.status} ${body.error ?? ''} ${body.error_description ?? ''}`.trim(),
    );
  }
  return {
    access_token: body.access_token,
    refresh_token: body.refresh_token,
    ...(body.id_token ? { id_token: body.id_token } : {}),
  };
}

/** A whole flow, ending in the client's tokens; throws when any step fails. */
export async function codeFlow(target: Target, http: HttpClient): Promise<Tokens> {
  if (target.codeFlow) return target.codeFlow(http);
  return exchangeCode(target, http, await authorize(target));
}

/** The `alg` of a JWS's protected header; undefined for anything else (an opaque token). */
export function jwsAlgorithm(token: string | undefined): string | undefined {
  const [header, payload, signature] = token?.split('.') ?? [];
  if (!header || payload === undefined || signature === undefined) return undefined;
  try {
    const { alg } = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown };
    return typeof alg === 'string' ? alg : undefined;
  } catch {
    return undefined;
  }
}
