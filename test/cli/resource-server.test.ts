// APIs and allowances from the CLI, run in-process (test/support/cli.ts): `clients create --resource-server` registers an
// API, `clients allow` lets a client obtain some of its scopes (one JSON document; --scopes "" takes it away),
// with the server running or not, on real PostgreSQL + Redis and embedded. Unknown scopes are refused by name.
import { afterAll, describe, expect, it } from '@jest/globals';
import { decodeProtectedHeader } from 'jose';

import { createTestClient, createUser, introspect, obtainTokens, tokenRequest } from '../support/oauth.js';
import { runCliInProcess } from '../support/cli.js';
import { createStorage, MODES, startOn, type Storage, type TestServer } from '../support/server.js';
import type { ClientView } from '../../src/clients/clients.js';

const ORDERS = 'https://orders.example.com';

/** The JSON error a failed command printed: the last line of stderr. */
const errorOf = (stderr: string) =>
  JSON.parse(stderr.trim().split('\n').at(-1) ?? '') as { error: string; error_description: string };

/** Polls `check` until it holds (embedded: a CLI change shows within CLIENT_CACHE_SECONDS). */
async function eventually(check: () => Promise<boolean>, ms = 5_000) {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.each(MODES)('CLI: APIs and allowances (%s)', (mode) => {
  let storage: Storage;
  let server: TestServer | undefined;
  afterAll(async () => {
    await server?.stop();
    await storage?.cleanup();
  });

  it('registers an API, allows a client (server stopped, then running), and takes the allowance away', async () => {
    storage = await createStorage(mode);
    const created = await runCliInProcess(
      [
        'clients',
        'create',
        '--name',
        'Orders API',
        '--grant-types',
        'client_credentials',
        '--scopes',
        'admin',
        '--resource-server',
        ORDERS,
        '--resource-scopes',
        'orders:read orders:write',
      ],
      { env: storage.env },
    );
    expect(created.code).toBe(0);
    const api = created.json as ClientView & { resource_server: unknown };
    expect(api.resource_server).toEqual({ identifier: ORDERS, name: 'Orders API', scopes: 'orders:read orders:write' });

    // A client registered for API scopes that exist now: accepted (they are obtained through allowances).
    const worker = await runCliInProcess(
      ['clients', 'create', '--name', 'Worker', '--grant-types', 'client_credentials', '--scopes', 'orders:read'],
      { env: storage.env },
    );
    expect(worker.code).toBe(0);
    const workerClient = worker.json as ClientView;

    // Allowed while no server runs.
    const allowed = await runCliInProcess(
      ['clients', 'allow', '--client-id', workerClient.client_id, '--resource', ORDERS, '--scopes', 'orders:read'],
      { env: storage.env },
    );
    expect([allowed.code, allowed.json]).toEqual([
      0,
      { client_id: workerClient.client_id, resource: ORDERS, scopes: ['orders:read'] },
    ]);

    server = await startOn(storage, { CLIENT_CACHE_SECONDS: '1' });
    const cc = (scope: string) =>
      tokenRequest(server!, workerClient, { grant_type: 'client_credentials', scope, resource: ORDERS });
    const first = await cc('orders:read orders:write');
    expect([first.status, first.body.scope]).toEqual([200, 'orders:read']);
    expect((await introspect(server, api, first.body.access_token as string)).body).toMatchObject({
      active: true,
      aud: ORDERS,
      scope: 'orders:read',
    });

    const [event] = await server.db.sql.query<{ client_id: string; detail: Record<string, unknown> }>(
      "SELECT client_id, detail FROM audit_events WHERE type = 'client.resource_allowed' AND client_id = $1",
      [workerClient.client_id],
    );
    expect(event?.detail).toMatchObject({ resource: ORDERS, scopes: ['orders:read'], via: 'cli' });
    const [creation] = await server.db.sql.query<{ detail: Record<string, unknown> }>(
      "SELECT detail FROM audit_events WHERE type = 'client.created' AND client_id = $1",
      [api.client_id],
    );
    expect(creation?.detail).toMatchObject({ via: 'cli' });

    // The code flow, for a client allowed while the server runs.
    const app = await createTestClient(server);
    const appAllowed = await runCliInProcess(
      ['clients', 'allow', '--client-id', app.client_id, '--resource', ORDERS, '--scopes', 'orders:read orders:write'],
      { env: storage.env },
    );
    // On failure the CLI's stderr is part of what is compared, so that the reason shows.
    expect({
      code: appAllowed.code,
      json: appAllowed.json,
      ...(appAllowed.code ? { stderr: appAllowed.stderr } : {}),
    }).toEqual({
      code: 0,
      json: { client_id: app.client_id, resource: ORDERS, scopes: ['orders:read', 'orders:write'] },
    });
    const tokens = await obtainTokens(server, app, await createUser(server), {
      scope: 'openid orders:write',
      extra: { resource: ORDERS },
    });
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
    expect(tokens.scope).toBe('orders:write');

    // Taken away while the server runs: new tokens carry none of the API's scopes.
    const removed = await runCliInProcess(
      ['clients', 'allow', '--client-id', workerClient.client_id, '--resource', ORDERS, '--scopes', ''],
      { env: storage.env },
    );
    expect([removed.code, removed.json]).toEqual([
      0,
      { client_id: workerClient.client_id, resource: ORDERS, scopes: [] },
    ]);
    await eventually(async () => (await cc('orders:read')).body.error === 'invalid_target');
  });

  it('refuses unknown scopes at creation and in allowances, naming them', async () => {
    const unknown = await runCliInProcess(
      ['clients', 'create', '--name', 'x', '--grant-types', 'client_credentials', '--scopes', 'profile api:read'],
      { env: storage.env },
    );
    expect(unknown.code).not.toBe(0);
    expect(unknown.stdout).toBe('');
    const error = errorOf(unknown.stderr);
    expect(error.error).toBe('invalid_request');
    expect(error.error_description).toMatch(
      /^unknown scope api:read: it is neither built in \(openid offline_access profile email admin\) nor defined by a registered API/,
    );
    expect(error.error_description).toContain('--resource-server URI --resource-scopes "api:read"');

    const [row] = await server!.db.sql.query<{ client_id: string }>(
      "SELECT client_id FROM clients WHERE name = 'Worker'",
    );
    const badAllow = await runCliInProcess(
      ['clients', 'allow', '--client-id', row!.client_id, '--resource', ORDERS, '--scopes', 'orders:delete'],
      { env: storage.env },
    );
    expect(badAllow.code).not.toBe(0);
    expect(errorOf(badAllow.stderr).error_description).toMatch(
      /^the API https:\/\/orders\.example\.com does not define the scope orders:delete/,
    );

    const noApi = await runCliInProcess(
      ['clients', 'allow', '--client-id', row!.client_id, '--resource', 'https://none.example.com', '--scopes', 'a'],
      { env: storage.env },
    );
    expect(errorOf(noApi.stderr)).toEqual({
      error: 'not_found',
      error_description: 'no API is registered with the identifier https://none.example.com',
    });
  });

  it('registers, lists, changes and removes APIs (resources create|list|update|delete)', async () => {
    const env = storage.env;
    const billing = 'https://billing.example.com';
    const created = await runCliInProcess(
      [
        'resources',
        'create',
        '--resource',
        billing,
        '--name',
        'Billing',
        '--scopes',
        'invoices:read invoices:pay',
        '--describe',
        'invoices:read=See your invoices',
      ],
      { env },
    );
    expect([created.code, created.json]).toEqual([
      0,
      {
        identifier: billing,
        name: 'Billing',
        client_id: null,
        scopes: [
          { name: 'invoices:read', description: 'See your invoices' },
          { name: 'invoices:pay', description: null },
        ],
      },
    ]);
    const [row] = await server!.db.sql.query<{ client_id: string }>(
      "SELECT client_id FROM clients WHERE name = 'Worker'",
    );
    expect(
      (
        await runCliInProcess(
          [
            'clients',
            'allow',
            '--client-id',
            row!.client_id,
            '--resource',
            billing,
            '--scopes',
            'invoices:read invoices:pay',
          ],
          { env },
        )
      ).code,
    ).toBe(0);

    const updated = await runCliInProcess(
      [
        'resources',
        'update',
        '--resource',
        billing,
        '--name',
        'Billing API',
        '--scopes',
        'invoices:read invoices:refund',
        '--describe',
        'invoices:refund=Refund an invoice',
      ],
      { env },
    );
    expect(updated.json).toEqual({
      identifier: billing,
      name: 'Billing API',
      client_id: null,
      scopes: [
        { name: 'invoices:read', description: 'See your invoices' },
        { name: 'invoices:refund', description: 'Refund an invoice' },
      ],
    });
    // The removed scope left the allowance.
    const allowed = await server!.db.sql.query<{ scope: string }>(
      'SELECT scope FROM client_resource_scopes WHERE client_id = $1 AND resource = $2',
      [row!.client_id, billing],
    );
    expect(allowed.map((r) => r.scope)).toEqual(['invoices:read']);

    const listed = await runCliInProcess(['resources', 'list'], { env });
    expect(
      (listed.json as { items: { identifier: string; name: string }[] }).items.map((r) => [r.identifier, r.name]),
    ).toEqual([
      [billing, 'Billing API'],
      [ORDERS, 'Orders API'],
    ]);

    expect((await runCliInProcess(['resources', 'delete', '--resource', billing], { env })).json).toEqual({
      resource: billing,
      deleted: true,
    });
    const gone = await runCliInProcess(['resources', 'delete', '--resource', billing], { env });
    expect([gone.code === 0, errorOf(gone.stderr).error]).toEqual([false, 'not_found']);
    expect(await server!.db.sql.query('SELECT 1 FROM client_resource_scopes WHERE resource = $1', [billing])).toEqual(
      [],
    );
  });

  it('refuses --resource-scopes without --resource-server', async () => {
    const res = await runCliInProcess(
      ['clients', 'create', '--name', 'x', '--redirect-uri', 'https://x.example.com/cb', '--resource-scopes', 'a'],
      { env: storage.env },
    );
    expect(res.code).not.toBe(0);
    expect(res.stdout).toBe('');
  });
});
