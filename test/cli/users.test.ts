// The user lifecycle from the CLI (`npm run --silent cli -- users ...`), run in-process (test/support/cli.ts) while a
// server runs, on PostgreSQL + Redis and on the embedded database (reached over the server's socket): each command prints
// one JSON document, is audited (via "cli"), and disabling, setting a password or deleting cuts the user's tokens at
// once on the running server (and its sibling instance).
import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { adminCall, adminToken } from '../admin/helpers.js';
import { obtainTokens } from '../support/oauth.js';
import { runCliInProcess } from '../support/cli.js';
import { MODES, startServer, type TestServer } from '../support/server.js';
import {
  createApps,
  expectTokens,
  GENERIC_LOGIN_ERROR,
  signInAttempt,
  tokensOf,
  type Apps,
} from '../people/helpers.js';

const errorOf = (stderr: string) => JSON.parse(stderr.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;

describe.each(MODES)('CLI: users (%s, server running)', (mode) => {
  let server: TestServer;
  let sibling: TestServer | undefined;
  let token: string;
  let apps: Apps;
  const cli = (args: string[], stdin?: string) =>
    runCliInProcess(['users', ...args], { env: server.env, ...(stdin !== undefined ? { stdin } : {}) });
  const ok = async (args: string[], stdin?: string) => {
    const res = await cli(args, stdin);
    if (res.code !== 0) throw new Error(`users ${args.join(' ')} failed: ${res.stderr}`);
    return res.json as Record<string, any>;
  };
  const typesFor = async (userId: string) =>
    (await adminCall(server, 'GET', `/admin/audit?user_id=${userId}&limit=200`, { token })).body.items as {
      type: string;
      detail: { via?: string };
    }[];

  beforeAll(async () => {
    server = await startServer(mode);
    if (mode === 'external') sibling = await server.sibling();
    ({ token } = await adminToken(server));
    apps = await createApps(server);
  }); // booting PGlite on a loaded two-core machine has taken more than 30 s
  afterAll(async () => {
    await sibling?.stop();
    await server?.stop();
  });

  it('creates, lists, shows, updates, disables, enables, sets a password and deletes', async () => {
    const tag = randomBytes(3).toString('hex');
    const username = `cli_${tag}`;
    const password = 'first-password';
    const created = await ok(
      ['create', '--username', username, '--password-stdin', '--email', `${username}@example.com`],
      `${password}\n`,
    );
    const id = created.id as string;
    const user = { id, username, password };

    const listed = await ok(['list', '--query', tag.toUpperCase()]);
    expect(listed).toEqual({
      items: [expect.objectContaining({ id, username, email: `${username}@example.com`, email_verified: false })],
      next_cursor: null,
    });
    const api = await adminCall(server, 'GET', `/admin/users/${id}`, { token });
    expect(await ok(['show', '--username', username])).toEqual(api.body);

    expect(await ok(['update', '--username', username, '--email', `other_${tag}@example.org`])).toMatchObject({
      id,
      email: `other_${tag}@example.org`,
      email_verified: false,
    });

    const held = await tokensOf(server, apps, user);
    // Introspected first, so that whatever the server keeps of the user's state is warm: the CLI's change (another
    // process) must still be seen at once, on the embedded default too.
    await expectTokens(server, apps, held, 'alive');
    const disabled = await ok(['disable', '--username', username]);
    expect(disabled.disabled_at).toEqual(expect.any(String));
    for (const instance of [server, ...(sibling ? [sibling] : [])]) await expectTokens(instance, apps, held, 'dead');
    expect((await signInAttempt(server, apps.app, username, password)).page).toContain(GENERIC_LOGIN_ERROR);
    expect((await ok(['enable', '--username', username])).disabled_at).toBeNull();

    const again = await tokensOf(server, apps, user);
    const changed = await ok(['set-password', '--username', username, '--password-stdin'], 'second-password\n');
    expect(changed).toEqual({ id, username, password_changed: true, revoked: expect.any(Array) });
    expect(changed.revoked).toHaveLength(2);
    await expectTokens(server, apps, again, 'dead');
    expect((await obtainTokens(server, apps.app, { ...user, password: 'second-password' })).access_token).toEqual(
      expect.any(String),
    );

    const last = await tokensOf(server, apps, { ...user, password: 'second-password' });
    expect(await ok(['delete', '--username', username])).toEqual({ id, username, deleted: true });
    for (const instance of [server, ...(sibling ? [sibling] : [])]) await expectTokens(instance, apps, last, 'dead');
    expect((await adminCall(server, 'GET', `/admin/users/${id}`, { token })).status).toBe(404);

    const events = await typesFor(id);
    for (const type of [
      'user.created',
      'user.updated',
      'user.disabled',
      'user.enabled',
      'user.password_changed',
      'user.deleted',
    ]) {
      expect(events.filter((e) => e.type === type).map((e) => e.detail.via)).toEqual(['cli']);
    }
  }, 180_000);

  it.each([
    [['show', '--username', 'nobody_here'], { error: 'not_found', error_description: 'no user nobody_here' }],
    [['disable'], { error: 'invalid_request', error_description: '--username is required' }],
    [['set-password', '--username', 'nobody_here'], { error: 'not_found', error_description: 'no user nobody_here' }],
    [
      ['list', '--limit', '0'],
      { error: 'invalid_request', error_description: '--limit must be an integer from 1 to 200' },
    ],
  ])('%j fails with a JSON error and nothing on stdout', async (args, error) => {
    const res = await cli(args);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(errorOf(res.stderr)).toEqual(error);
  });
});
