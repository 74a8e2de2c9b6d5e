// OAuth 2.1 §7.5.1: a confidential OpenID Connect client that uses `nonce` may omit PKCE, when an administrator
// allowed it (allow_nonce_instead_of_pkce, off by default). Without PKCE the nonce is required, the token request
// must not carry a code_verifier and must carry redirect_uri (RFC 6749 §4.1.3).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';

import type { ClientView } from '../../src/clients/clients.js';
import { adminCall, adminToken } from '../admin/helpers.js';
import { Browser, pkce } from '../support/browser.js';
import {
  authorizationUrl,
  createTestClient,
  createUser,
  REDIRECT_URI,
  tokenRequest,
  type User,
} from '../support/oauth.js';
import { signInAt } from '../support/pages.js';
import { runCliInProcess } from '../support/cli.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

describe.each(MODES)('nonce instead of PKCE (%s storage)', (mode) => {
  let server: TestServer;
  let user: User;
  let allowed: ClientView;
  let ordinary: ClientView;
  let admin: string;

  beforeAll(async () => {
    server = await startServer(mode);
    user = await createUser(server);
    const created = await runCliInProcess(
      ['clients', 'create', '--name', 'Basic RP', '--redirect-uri', REDIRECT_URI, '--allow-nonce-instead-of-pkce'],
      { env: server.env },
    );
    expect(created.code).toBe(0);
    allowed = created.json as ClientView;
    ordinary = await createTestClient(server);
    admin = (await adminToken(server)).token;
  });
  afterAll(() => server?.stop());

  /** An authorization request without code_challenge (and with the given extra parameters). */
  function noPkceUrl(client: ClientView, extra: Record<string, string>) {
    const url = new URL(authorizationUrl(server, client, 'unused', { scope: 'openid', prompt: 'consent' }));
    url.searchParams.delete('code_challenge');
    url.searchParams.delete('code_challenge_method');
    for (const [k, v] of Object.entries(extra)) url.searchParams.set(k, v);
    return url.toString();
  }

  const walk = async (url: string) => new URL((await signInAt(new Browser(server.url), url, user)).url);

  it('is off by default and shown in the client view', async () => {
    expect(allowed.allow_nonce_instead_of_pkce).toBe(true);
    expect(ordinary.allow_nonce_instead_of_pkce).toBe(false);
    const read = await adminCall(server, 'GET', `/admin/clients/${allowed.client_id}`, { token: admin });
    expect(read.body.allow_nonce_instead_of_pkce).toBe(true);
  });

  it('lets the allowed client omit PKCE with a nonce: code, then tokens whose ID token carries the nonce', async () => {
    const redirect = await walk(noPkceUrl(allowed, { nonce: 'n-0S6_WzA2Mj' }));
    const code = redirect.searchParams.get('code');
    expect(code).toEqual(expect.any(String));

    // A code_verifier for a code issued without code_challenge is refused (OAuth 2.1 §4.1.3: MUST NOT be used).
    const withVerifier = await tokenRequest(server, allowed, {
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: REDIRECT_URI,
      code_verifier: pkce().verifier,
    });
    expect(withVerifier.status).toBe(400);
    expect(withVerifier.body.error).toBe('invalid_grant');

    const other = await walk(noPkceUrl(allowed, { nonce: 'n-second' }));
    // Without PKCE, redirect_uri is required at the token endpoint (RFC 6749 §4.1.3), even with one registered URI.
    const missing = await tokenRequest(server, allowed, {
      grant_type: 'authorization_code',
      code: other.searchParams.get('code')!,
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_request');
    const tokens = await tokenRequest(server, allowed, {
      grant_type: 'authorization_code',
      code: other.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
    });
    expect(tokens.status).toBe(200);
    expect(decodeJwt(tokens.body.id_token as string).nonce).toBe('n-second');
  });

  it('still requires PKCE from the allowed client when there is no nonce, or no openid scope', async () => {
    const noNonce = await walkOrRedirect(noPkceUrl(allowed, {}));
    expect(noNonce.searchParams.get('error')).toBe('invalid_request');
    expect(noNonce.searchParams.get('error_description')).toMatch(/nonce/);
    const noOpenid = await walkOrRedirect(noPkceUrl(allowed, { nonce: 'n', scope: 'profile' }));
    expect(noOpenid.searchParams.get('error')).toBe('invalid_request');
  });

  it('still accepts PKCE from the allowed client', async () => {
    const { challenge, verifier } = pkce();
    const redirect = await walk(authorizationUrl(server, allowed, challenge, { scope: 'openid' }));
    const tokens = await tokenRequest(server, allowed, {
      grant_type: 'authorization_code',
      code: redirect.searchParams.get('code')!,
      code_verifier: verifier,
    });
    expect(tokens.status).toBe(200);
  });

  it('requires PKCE from every other client, nonce or not', async () => {
    const redirect = await walkOrRedirect(noPkceUrl(ordinary, { nonce: 'n-1' }));
    expect(redirect.searchParams.get('error')).toBe('invalid_request');
  });

  it('is refused for public clients and clients without openid; the admin API can switch it off', async () => {
    const pub = await runCliInProcess(
      [
        'clients',
        'create',
        '--name',
        'SPA',
        '--public',
        '--redirect-uri',
        REDIRECT_URI,
        '--allow-nonce-instead-of-pkce',
      ],
      { env: server.env },
    );
    expect(pub.code).not.toBe(0);
    expect(pub.stdout + pub.stderr).toContain('allow_nonce_instead_of_pkce');
    const noOpenid = await adminCall(server, 'POST', '/admin/clients', {
      token: admin,
      body: { name: 'x', redirect_uris: [REDIRECT_URI], scope: 'profile', allow_nonce_instead_of_pkce: true },
    });
    expect(noOpenid.status).toBe(400);
    expect(noOpenid.body.error).toBe('invalid_request');

    const switched = await adminCall(server, 'PATCH', `/admin/clients/${allowed.client_id}`, {
      token: admin,
      body: { allow_nonce_instead_of_pkce: false },
    });
    expect(switched.status).toBe(200);
    expect(switched.body.allow_nonce_instead_of_pkce).toBe(false);
    const refused = await walkOrRedirect(noPkceUrl(allowed, { nonce: 'n-2' }));
    expect(refused.searchParams.get('error')).toBe('invalid_request');
    await adminCall(server, 'PATCH', `/admin/clients/${allowed.client_id}`, {
      token: admin,
      body: { allow_nonce_instead_of_pkce: true },
    });
  });

  /** Where an authorization request ends when it is refused before any page: the client's redirect URI. */
  async function walkOrRedirect(url: string) {
    const browser = new Browser(server.url);
    const { url: end } = await browser.follow(await browser.get(url));
    return new URL(end);
  }
});
