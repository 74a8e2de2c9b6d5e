// Registering a resource server from the CLI, and the CLI's client creation being audited.
import { afterAll, describe, expect, it } from '@jest/globals';
import { decodeProtectedHeader } from 'jose';

import { createTestClient, createUser, introspect, obtainTokens } from '../support/oauth.js';
import { runCli } from '../support/process.js';
import { createStorage, startOn, type Storage } from '../support/server.js';
import type { ClientView } from '../../src/clients/clients.js';

describe('clients create --resource-server', () => {
  let storage: Storage;
  afterAll(() => storage?.cleanup());

  it('makes the client the resource server for that URI, and audits the creation', async () => {
    storage = await createStorage('external');
    const created = await runCli(
      ['clients', 'create', '--name', 'Orders API', '--grant-types', 'client_credentials', '--scopes', 'admin',
        '--resource-server', 'https://orders.example.com', '--resource-scopes', 'orders:read orders:write'],
      { env: storage.env },
    );
    expect(created.code).toBe(0);
    const api = created.json as ClientView & { resource_server: { identifier: string; scopes: string } };
    expect(api.resource_server).toEqual({ identifier: 'https://orders.example.com', scopes: 'orders:read orders:write' });

    const server = await startOn(storage, {});
    try {
      const [event] = await server.db.sql.query<{ type: string; client_id: string; detail: { via: string } }>(
        "SELECT type, client_id, detail FROM audit_events WHERE type = 'client.created' AND client_id = $1", [api.client_id]);
      expect(event).toMatchObject({ type: 'client.created', client_id: api.client_id, detail: { via: 'cli' } });

      const app = await createTestClient(server);
      const tokens = await obtainTokens(server, app, await createUser(server), {
        scope: 'openid orders:read', extra: { resource: 'https://orders.example.com' },
      });
      expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
      expect((await introspect(server, api, tokens.access_token)).body).toMatchObject({ active: true, aud: 'https://orders.example.com', scope: 'orders:read' });
    } finally {
      await server.stop();
    }
  }, 90_000);

  it('refuses --resource-scopes without --resource-server', async () => {
    const res = await runCli(['clients', 'create', '--name', 'x', '--redirect-uri', 'https://x.example.com/cb', '--resource-scopes', 'a'], { env: storage.env });
    expect(res.code).not.toBe(0);
    expect(res.stdout).toBe('');
  }, 60_000);
});
