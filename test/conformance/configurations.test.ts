// docs/conformance.md names one configuration per OpenID certification plan, as fenced `conformance <name>` blocks
// (environment lines, then CLI commands). This test reads that file, boots every block on both storage modes, runs
// its commands with the CLI, and checks what the document says of it. A block without a check here fails.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from '@jest/globals';
import { decodeJwt, decodeProtectedHeader } from 'jose';

import type { ClientView } from '../../src/clients/clients.js';
import { Browser, pkce } from '../support/browser.js';
import { authorizationUrl, createUser, tokenRequest, type User } from '../support/oauth.js';
import { answerPages, signInAt } from '../support/pages.js';
import { runCliInProcess } from '../support/cli.js';
import { REPO_ROOT } from '../support/process.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

const SUITE = 'https://localhost.emobix.co.uk:8443';
const ALIAS = 'tollgate';
const CALLBACK = `${SUITE}/test/a/${ALIAS}/callback`;

interface Block {
  name: string;
  env: Record<string, string>;
  commands: string[][];
}

/** Splits a command line as a POSIX shell would for these simple lines (double quotes, no escapes). */
const words = (line: string) => [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);

async function readBlocks(): Promise<Block[]> {
  const doc = await readFile(join(REPO_ROOT, 'docs/conformance.md'), 'utf8');
  return [...doc.matchAll(/```conformance ([\w-]+)\n([\s\S]*?)```/g)].map(([, name, body]) => {
    const env: Record<string, string> = {};
    const commands: string[][] = [];
    for (const raw of body!
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)) {
      const line = raw.replaceAll('$SUITE', SUITE).replaceAll('$ALIAS', ALIAS);
      const variable = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
      if (variable) env[variable[1]!] = variable[2]!;
      else if (line.startsWith('npm run --silent cli -- '))
        commands.push(words(line.slice('npm run --silent cli -- '.length)));
      else throw new Error(`docs/conformance.md, block ${name}: neither NAME=value nor a CLI command: ${line}`);
    }
    return { name: name!, env, commands };
  });
}

interface Booted {
  server: TestServer;
  clients: ClientView[];
  user: User;
}

const discovery = async (server: TestServer) =>
  (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;

/** An authorization request as the Basic OP plan sends it: no PKCE, a nonce. */
function noPkceRequest(server: TestServer, client: ClientView, nonce: string) {
  const url = new URL(
    authorizationUrl(server, client, 'unused', { scope: 'openid', prompt: 'consent', extra: { nonce } }),
  );
  url.searchParams.delete('code_challenge');
  url.searchParams.delete('code_challenge_method');
  return url;
}

const CHECKS: Record<string, (booted: Booted) => Promise<void>> = {
  async 'basic-op'({ server, clients, user }) {
    expect(clients).toHaveLength(2);
    for (const client of clients)
      expect(client).toMatchObject({
        redirect_uris: [CALLBACK],
        allow_nonce_instead_of_pkce: true,
        id_token_signed_response_alg: 'RS256',
      });
    // Client 1: the code flow without PKCE, with a nonce.
    const end = new URL(
      (await signInAt(new Browser(server.url), noPkceRequest(server, clients[0]!, 'nonce-1').toString(), user)).url,
    );
    expect(`${end.origin}${end.pathname}`).toBe(CALLBACK);
    const tokens = await tokenRequest(server, clients[0]!, {
      grant_type: 'authorization_code',
      code: end.searchParams.get('code')!,
      redirect_uri: CALLBACK,
    });
    expect(tokens.status).toBe(200);
    expect(tokens.headers.get('pragma')).toBe('no-cache');
    expect(decodeProtectedHeader(tokens.body.id_token as string).alg).toBe('RS256');
    expect(decodeJwt(tokens.body.id_token as string).nonce).toBe('nonce-1');
    const userinfo = await fetch(`${server.url}/me`, {
      headers: { authorization: `Bearer ${tokens.body.access_token as string}` },
    });
    expect(userinfo.status).toBe(200);
    expect(await userinfo.json()).toMatchObject({ sub: user.id });
    // Client 2: the same request POSTed to the authorization endpoint.
    const browser = new Browser(server.url);
    const posted = await browser.postForm(
      '/auth',
      Object.fromEntries(noPkceRequest(server, clients[1]!, 'nonce-2').searchParams),
    );
    const { url } = await answerPages(browser, await browser.follow(posted), user);
    expect(new URL(url).searchParams.get('code')).toEqual(expect.any(String));
    // RFC 6749 §5.2 at the token endpoint.
    const anonymous = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=authorization_code&code=x',
    });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: 'invalid_client' });
  },

  async 'config-op'({ server }) {
    const metadata = await discovery(server);
    expect(metadata).toMatchObject({
      issuer: server.config.issuer,
      authorization_endpoint: `${server.config.issuer}/auth`,
      token_endpoint: `${server.config.issuer}/token`,
      userinfo_endpoint: `${server.config.issuer}/me`,
      jwks_uri: `${server.config.issuer}/jwks`,
      response_types_supported: expect.arrayContaining(['code']),
      subject_types_supported: expect.arrayContaining(['public']),
      id_token_signing_alg_values_supported: expect.arrayContaining(['RS256']),
    });
    const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const key of jwks.keys)
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(member);
  },

  async 'dynamic-op'({ server, user }) {
    const metadata = await discovery(server);
    expect(metadata.registration_endpoint).toBe(`${server.config.issuer}/reg`);
    const register = (body: Record<string, unknown>) =>
      fetch(`${server.url}/reg`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const res = await register({ client_name: 'suite client', redirect_uris: [CALLBACK] });
    expect(res.status).toBe(201);
    const registered = (await res.json()) as ClientView & { client_secret: string };
    // The documented blocker: a self-registered client is held to PKCE, and cannot exempt itself.
    const browser = new Browser(server.url);
    const { url } = await browser.follow(await browser.get(noPkceRequest(server, registered, 'nonce-3').toString()));
    expect(new URL(url).searchParams.get('error')).toBe('invalid_request');
    const exempt = await register({
      client_name: 'suite client',
      redirect_uris: [CALLBACK],
      allow_nonce_instead_of_pkce: true,
    });
    expect(exempt.status).toBe(400);
    expect(await exempt.json()).toMatchObject({ error: 'invalid_client_metadata' });
    // With PKCE the registered client completes the flow.
    const { challenge } = pkce();
    const end = new URL(
      (
        await signInAt(
          new Browser(server.url),
          authorizationUrl(server, registered, challenge, { scope: 'openid' }),
          user,
        )
      ).url,
    );
    expect(end.searchParams.get('code')).toEqual(expect.any(String));
  },

  async fapi2({ server }) {
    const metadata = await discovery(server);
    expect(metadata).toMatchObject({
      pushed_authorization_request_endpoint: `${server.config.issuer}/request`,
      authorization_response_iss_parameter_supported: true,
      code_challenge_methods_supported: ['S256'],
      dpop_signing_alg_values_supported: expect.arrayContaining(['ES256']),
      token_endpoint_auth_methods_supported: expect.arrayContaining(['private_key_jwt']),
    });
    expect(metadata.token_endpoint_auth_methods_supported).not.toContain('client_secret_jwt');
  },
};

describe('docs/conformance.md configurations', () => {
  it('has a check for every configuration block, and a block for every check', async () => {
    expect((await readBlocks()).map((b) => b.name).sort()).toEqual(Object.keys(CHECKS).sort());
  });

  describe.each(MODES)('%s storage', (mode) => {
    it.each(Object.keys(CHECKS))('boots %s as documented', async (name) => {
      const block = (await readBlocks()).find((b) => b.name === name)!;
      const server = await startServer(mode, block.env);
      try {
        const clients: ClientView[] = [];
        for (const args of block.commands) {
          const run = await runCliInProcess(args, { env: server.env });
          expect([args.join(' '), run.code, run.stderr.slice(-300)]).toEqual([args.join(' '), 0, expect.any(String)]);
          if (args[0] === 'clients' && args[1] === 'create') clients.push(run.json as ClientView);
        }
        await CHECKS[name]!({ server, clients, user: await createUser(server) });
      } finally {
        await server.stop();
      }
    });
  });
});
