// The OpenAPI document and the router agree: every documented operation is routed, every route is documented, and
// the server answers each documented operation (guarded ones with 401 without a token, never 404 or 405).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { AdminDeps } from '../../src/admin/deps.js';
import { openApiDocument } from '../../src/admin/openapi/document.js';
import { createAdminRouter } from '../../src/admin/router.js';
import { startServer, type TestServer } from '../support/server.js';
import { adminCall } from './helpers.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** "GET /admin/clients/{client_id}" for each operation of the document. */
function documented(doc: { paths: Record<string, Record<string, unknown>> }): string[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((k) => METHODS.includes(k))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}

/** The same, from the router's stack (`:param` becomes `{param}`; HEAD is implied by GET). */
function routed(): string[] {
  // Routes are registered without touching their dependencies, which are only used per request.
  const router = createAdminRouter({} as AdminDeps);
  return router.stack.flatMap((layer) =>
    layer.methods
      .filter((m) => m !== 'HEAD')
      .map((m) => `${m} ${String(layer.path).replace(/:([A-Za-z_]+)/g, '{$1}')}`),
  );
}

describe('admin API: OpenAPI document', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external');
  });
  afterAll(() => server?.stop());

  it('documents exactly the routes the router serves', () => {
    const docs = documented(openApiDocument);
    const routes = routed();
    expect(routes.length).toBe(27);
    expect([...docs].sort()).toEqual([...routes].sort());
    expect(new Set(docs).size).toBe(docs.length);
  });

  it('is served at /admin/openapi.json as an OpenAPI 3 document whose references resolve', async () => {
    const res = await adminCall(server, 'GET', '/admin/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(res.body.info).toMatchObject({ title: 'Tollgate admin API', version: expect.any(String) });
    expect(documented(res.body)).toEqual(documented(openApiDocument));
    const refs = [...JSON.stringify(res.body).matchAll(/"\$ref":"#\/components\/schemas\/([A-Za-z]+)"/g)].map(
      (m) => m[1]!,
    );
    expect(refs.length).toBeGreaterThan(20);
    for (const name of refs) expect(res.body.components.schemas).toHaveProperty(name);
    // The request bodies come from the schemas the routes parse with: strict, as the routes are.
    expect(res.body.components.schemas.CreateClient).toMatchObject({
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: {
        grant_types: {
          items: {
            enum: [
              'authorization_code',
              'refresh_token',
              'client_credentials',
              'urn:ietf:params:oauth:grant-type:device_code',
              'urn:ietf:params:oauth:grant-type:token-exchange',
            ],
          },
        },
      },
    });
  });

  it('is answered by the server for every documented operation', async () => {
    const sample: Record<string, string> = {
      client_id: 'some-client',
      id: '00000000-0000-4000-8000-000000000000',
      family_id: '00000000-0000-4000-8000-000000000001',
      resource: encodeURIComponent('https://api.example.com'),
    };
    for (const operation of documented(openApiDocument)) {
      const [method, template] = operation.split(' ') as [string, string];
      const path = template.replace(/\{([a-z_]+)\}/g, (_m, name: string) => sample[name]!);
      const res = await adminCall(server, method, path, method === 'POST' || method === 'PATCH' ? { body: {} } : {});
      expect([operation, res.status]).toEqual([operation, path === '/admin/openapi.json' ? 200 : 401]);
    }
  });
});
