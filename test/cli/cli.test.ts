// The operator's CLI (README, "Run it"): one JSON document on stdout, a JSON error on stderr and a non-zero exit on
// failure, passwords from stdin only, client secrets stored hashed. Then proof that what it creates works: a server
// on the same storage signs the user in and authenticates the client, in external mode and in embedded mode (with
// no server running, and while a server process owns the embedded database). Most commands run in-process
// (test/support/cli.ts); the tests marked "(spawned)" run real child processes exactly as `npm run --silent cli --
// ...` runs them, so exit status, pipes and the process boundary stay tested end to end.
import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';

import type { ClientView } from '../../src/clients/clients.js';
import { obtainTokens, REDIRECT_URI, tokenRequest, type User } from '../support/oauth.js';
import { runCliInProcess } from '../support/cli.js';
import { runCli, startServerProcess, stopAllProcesses, type ServerProcess } from '../support/process.js';
import { createStorage, startOn, type Storage, type TestServer } from '../support/server.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const newUsername = () => `cli_${randomBytes(4).toString('hex')}`;
const newPassword = () => `pw-${randomBytes(9).toString('base64url')}`;

/** The JSON error a failed command printed: the last line of stderr (runtime warnings may precede it). */
function errorOf(stderr: string): Record<string, unknown> {
  const last = stderr.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as Record<string, unknown>;
}

type Runner = typeof runCli;

/** Runs `users create` with the password on stdin (newline-terminated, as `echo` would send it). */
async function createUserViaCli(env: Record<string, string>, run: Runner = runCliInProcess): Promise<User> {
  const username = newUsername();
  const password = newPassword();
  const res = await run(['users', 'create', '--username', username, '--password-stdin'], {
    env,
    stdin: `${password}\n`,
  });
  if (res.code !== 0) throw new Error(`users create failed (${res.code}): ${res.stderr}`);
  const { id } = res.json as { id: string };
  return { id, username, password };
}

/** The CLI's JSON for a client, checked to be a ClientView (what the OAuth test helpers take). */
function asClientView(json: unknown): ClientView {
  expect(json).toEqual({
    client_id: expect.any(String),
    ...((json as { client_secret?: unknown }).client_secret !== undefined ? { client_secret: expect.any(String) } : {}),
    client_name: expect.any(String),
    redirect_uris: expect.any(Array),
    grant_types: expect.any(Array),
    response_types: expect.any(Array),
    scope: expect.any(String),
    token_endpoint_auth_method: expect.any(String),
    application_type: expect.any(String),
    allow_nonce_instead_of_pkce: false,
    admin: expect.any(Boolean),
  });
  return json as ClientView;
}

async function createClientViaCli(
  env: Record<string, string>,
  args: string[],
  run: Runner = runCliInProcess,
): Promise<ClientView> {
  const res = await run(['clients', 'create', ...args], { env });
  if (res.code !== 0) throw new Error(`clients create failed (${res.code}): ${res.stderr}`);
  return asClientView(res.json);
}

/** What the OAuth helpers need of a server: its URL. Lets them drive a server running as a child process. */
const target = (url: string) => ({ url }) as unknown as TestServer;

const basic = (client: ClientView) =>
  `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret!)}`).toString('base64')}`;

/** client_credentials at POST /token with HTTP Basic, as a resource-owning admin tool would. */
const clientCredentials = (url: string, client: ClientView, scope = 'admin') =>
  fetch(`${url}/token`, {
    method: 'POST',
    headers: {
      authorization: basic(client),
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });

describe('CLI contract (PostgreSQL)', () => {
  let storage: Storage;
  let db: pg.Client;
  const cli = (args: string[], stdin?: string) =>
    runCliInProcess(args, { env: storage.env, ...(stdin !== undefined ? { stdin } : {}) });
  const spawned = (args: string[], stdin?: string) =>
    runCli(args, { env: storage.env, ...(stdin !== undefined ? { stdin } : {}) });

  beforeAll(async () => {
    storage = await createStorage('external');
    db = new pg.Client({ connectionString: storage.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await stopAllProcesses();
    await db?.end();
    await storage?.cleanup();
  });

  describe('users create', () => {
    it('prints exactly one JSON document {id, username, email} and stores only a hash of the stdin password (spawned)', async () => {
      const username = newUsername();
      const password = newPassword();
      const res = await spawned(
        ['users', 'create', '--username', username, '--password-stdin', '--email', `${username}@example.com`],
        `${password}\n`,
      );
      expect(res.code).toBe(0);
      expect(JSON.parse(res.stdout)).toEqual({
        id: expect.stringMatching(UUID),
        username,
        email: `${username}@example.com`,
      });

      const { rows } = await db.query<{ id: string; row: string; password_hash: string }>(
        'SELECT a.id, a.password_hash, row_to_json(a)::text AS row FROM accounts a WHERE username = $1',
        [username],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]!.id).toBe((res.json as { id: string }).id);
      expect(rows[0]!.password_hash).toMatch(/^\$argon2id\$/);
      expect(rows[0]!.row).not.toContain(password);
    });

    it('prints the same shape without --email', async () => {
      const username = newUsername();
      const res = await cli(['users', 'create', '--username', username, '--password-stdin'], `${newPassword()}\n`);
      expect(res.code).toBe(0);
      expect(JSON.parse(res.stdout)).toMatchObject({ id: expect.stringMatching(UUID), username });
    });

    it('fails on a duplicate username: non-zero exit, nothing on stdout, a JSON error on stderr (spawned)', async () => {
      const username = newUsername();
      expect(
        (await cli(['users', 'create', '--username', username, '--password-stdin'], `${newPassword()}\n`)).code,
      ).toBe(0);

      const res = await spawned(['users', 'create', '--username', username, '--password-stdin'], `${newPassword()}\n`);
      expect(res.code).not.toBe(0);
      expect(res.stdout).toBe('');
      expect(errorOf(res.stderr)).toEqual({
        error: 'invalid_request',
        error_description: expect.stringContaining(username),
      });
      const { rows } = await db.query('SELECT 1 FROM accounts WHERE username = $1', [username]);
      expect(rows).toHaveLength(1);
    });

    it('refuses to take the password any way but stdin', async () => {
      const username = newUsername();
      const missing = await cli(['users', 'create', '--username', username], `${newPassword()}\n`);
      expect(missing.code).not.toBe(0);
      expect(missing.stdout).toBe('');
      expect(errorOf(missing.stderr)).toEqual({
        error: 'invalid_request',
        error_description: expect.stringContaining('--password-stdin'),
      });

      const asArgument = await cli(['users', 'create', '--username', username, '--password', newPassword()]);
      expect(asArgument.code).not.toBe(0);
      expect(asArgument.stdout).toBe('');
      expect(errorOf(asArgument.stderr)).toMatchObject({ error: expect.any(String) });

      const { rows } = await db.query('SELECT 1 FROM accounts WHERE username = $1', [username]);
      expect(rows).toHaveLength(0);
    });
  });

  describe('clients create', () => {
    it('creates a confidential code + refresh client by default, with the default scopes', async () => {
      const res = await cli(['clients', 'create', '--name', 'Web app', '--redirect-uri', REDIRECT_URI]);
      expect(res.code).toBe(0);
      const client = asClientView(JSON.parse(res.stdout));
      expect(client).toMatchObject({
        client_id: expect.stringMatching(/^\S{16,}$/),
        client_secret: expect.stringMatching(/^\S{32,}$/),
        client_name: 'Web app',
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        scope: 'openid offline_access profile email',
        token_endpoint_auth_method: 'client_secret_basic',
      });
    });

    it('--public: no client_secret and token_endpoint_auth_method none', async () => {
      const res = await cli(['clients', 'create', '--name', 'SPA', '--redirect-uri', REDIRECT_URI, '--public']);
      expect(res.code).toBe(0);
      const client = asClientView(JSON.parse(res.stdout));
      expect(client).not.toHaveProperty('client_secret');
      expect(client).toMatchObject({
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        scope: 'openid offline_access profile email',
      });
    });

    it('--admin: a confidential client_credentials client allowed the scope admin', async () => {
      const res = await cli(['clients', 'create', '--name', 'Ops', '--admin']);
      expect(res.code).toBe(0);
      const client = asClientView(JSON.parse(res.stdout));
      expect(client).toMatchObject({
        client_secret: expect.any(String),
        grant_types: ['client_credentials'],
        scope: 'admin',
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      });
    });

    it('takes --grant-types, --scopes and repeated --redirect-uri', async () => {
      const second = 'http://127.0.0.1:8765/callback';
      const res = await cli([
        'clients',
        'create',
        '--name',
        'Custom',
        '--grant-types',
        'authorization_code',
        '--scopes',
        'openid profile',
        '--redirect-uri',
        REDIRECT_URI,
        '--redirect-uri',
        second,
      ]);
      expect(res.code).toBe(0);
      expect(asClientView(JSON.parse(res.stdout))).toMatchObject({
        grant_types: ['authorization_code'],
        scope: 'openid profile',
        redirect_uris: [REDIRECT_URI, second],
      });

      const service = await cli([
        'clients',
        'create',
        '--name',
        'Service',
        '--grant-types',
        'client_credentials',
        '--scopes',
        'profile email',
      ]);
      expect(service.code).toBe(0);
      expect(asClientView(JSON.parse(service.stdout))).toMatchObject({
        grant_types: ['client_credentials'],
        scope: 'profile email',
        redirect_uris: [],
      });

      // Scopes nobody defines are refused, by name (they would otherwise fail every request of the client).
      const unknown = await cli([
        'clients',
        'create',
        '--name',
        'Service',
        '--grant-types',
        'client_credentials',
        '--scopes',
        'read write',
      ]);
      expect(unknown.code).not.toBe(0);
      expect(unknown.stdout).toBe('');
      expect(errorOf(unknown.stderr).error_description).toMatch(
        /^unknown scopes read write: they are neither built in/,
      );
    });

    it('fails with a JSON error on invalid input (a redirect URI with a fragment)', async () => {
      const res = await cli([
        'clients',
        'create',
        '--name',
        'Bad',
        '--redirect-uri',
        'https://client.example.com/cb#frag',
      ]);
      expect(res.code).not.toBe(0);
      expect(res.stdout).toBe('');
      expect(errorOf(res.stderr)).toEqual({
        error: 'invalid_request',
        error_description: expect.stringContaining('fragment'),
      });
    });

    it('stores the client secret hashed: the secret appears nowhere in the row', async () => {
      const client = await createClientViaCli(storage.env, ['--name', 'Hashed', '--redirect-uri', REDIRECT_URI]);
      const secret = client.client_secret!;
      const { rows } = await db.query<{ row: string; secret_hash: string | null }>(
        'SELECT row_to_json(c)::text AS row, c.secret_hash FROM clients c WHERE client_id = $1',
        [client.client_id],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]!.row).toContain(client.client_id); // the row really is this client's
      expect(rows[0]!.secret_hash).toEqual(expect.any(String));
      expect(rows[0]!.row).not.toContain(secret);
      expect(rows[0]!.row).not.toContain(Buffer.from(secret, 'base64url').toString('hex'));
    });
  });
});

describe('what the CLI creates works (PostgreSQL + Redis)', () => {
  let storage: Storage;
  let server: TestServer | undefined;

  beforeAll(async () => {
    storage = await createStorage('external');
  });
  afterAll(async () => {
    await server?.stop().catch(() => undefined);
    await stopAllProcesses();
    await storage?.cleanup();
  });

  it('a CLI user signs in to CLI clients (confidential and public), and a CLI admin client gets a token', async () => {
    const user = await createUserViaCli(storage.env);
    const confidential = await createClientViaCli(storage.env, ['--name', 'Web', '--redirect-uri', REDIRECT_URI]);
    const spa = await createClientViaCli(storage.env, ['--name', 'SPA', '--redirect-uri', REDIRECT_URI, '--public']);
    const admin = await createClientViaCli(storage.env, ['--name', 'Ops', '--admin']);

    server = await startOn(storage, {});
    for (const client of [confidential, spa]) {
      const tokens = await obtainTokens(server, client, user);
      expect(tokens).toMatchObject({
        access_token: expect.any(String),
        refresh_token: expect.any(String),
        token_type: 'Bearer',
      });
    }
    const res = await tokenRequest(server, admin, { grant_type: 'client_credentials', scope: 'admin' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ access_token: expect.any(String), scope: 'admin' });
  });
});

describe('what the CLI creates works (embedded PGlite)', () => {
  let storage: Storage;
  let server: TestServer | undefined;
  let processServer: ServerProcess | undefined;
  let user: User | undefined;
  let client: ClientView | undefined;

  beforeAll(async () => {
    storage = await createStorage('embedded');
  });
  afterAll(async () => {
    await server?.stop().catch(() => undefined);
    await processServer?.stop(5_000).catch(() => undefined);
    await stopAllProcesses();
    await storage?.cleanup();
  });

  it('with no server running, the CLI opens the database itself; a server started afterwards accepts its user and client', async () => {
    user = await createUserViaCli(storage.env);
    client = await createClientViaCli(storage.env, ['--name', 'Web', '--redirect-uri', REDIRECT_URI]);

    server = await startOn(storage, {});
    const tokens = await obtainTokens(server, client, user);
    expect(tokens).toMatchObject({ access_token: expect.any(String), refresh_token: expect.any(String) });
    await server.stop();
    server = undefined;
  });

  it('while a server process owns the database, the CLI still works and the running server accepts what it creates (spawned)', async () => {
    processServer = await startServerProcess({ ...storage.env, RATE_LIMIT_ENABLED: 'false' });
    const url = processServer.url;

    // Spawned: two processes, the server and the CLI, share the embedded database over its socket.
    const admin = await createClientViaCli(storage.env, ['--name', 'Ops', '--admin'], runCli);
    const res = await clientCredentials(url, admin);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ access_token: expect.any(String), token_type: 'Bearer', scope: 'admin' });

    const liveUser = await createUserViaCli(storage.env, runCli);
    const liveClient = await createClientViaCli(
      storage.env,
      ['--name', 'Live', '--redirect-uri', REDIRECT_URI],
      runCli,
    );
    expect(await obtainTokens(target(url), liveClient, liveUser)).toMatchObject({ access_token: expect.any(String) });
    // What the CLI created before the server started is still there.
    if (user && client)
      expect(await obtainTokens(target(url), client, user)).toMatchObject({ access_token: expect.any(String) });

    expect(await processServer.stop()).toEqual({ code: 0, signal: null });
    processServer = undefined;
  });
});
