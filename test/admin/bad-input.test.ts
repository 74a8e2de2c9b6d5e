// Bad input to the admin API: every refusal is JSON with `error` and `error_description`, names the field at fault,
// and is a 4xx, never a 5xx.
import { request } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { createTestClient } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';
import { adminCall, adminToken } from './helpers.js';

describe('admin API: bad input', () => {
  let server: TestServer;
  let token: string;
  let clientId: string;
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    adminCall(server, method, path, { token, body, ...(headers ? { headers } : {}) });

  beforeAll(async () => {
    server = await startServer('external');
    ({ token } = await adminToken(server));
    clientId = (await createTestClient(server)).client_id;
  });
  afterAll(() => server?.stop());

  it.each([
    ['an unknown field', { name: 'A', colour: 'blue' }, 'unknown field colour'],
    ['two unknown fields', { name: 'A', colour: 'blue', size: 3 }, 'unknown fields colour, size'],
    ['a missing name', {}, 'name: Invalid input: expected string, received undefined'],
    ['a number for name', { name: 42 }, 'name: Invalid input: expected string, received number'],
    [
      'a string for redirect_uris',
      { name: 'A', redirect_uris: 'https://a.example.com/cb' },
      'redirect_uris: Invalid input: expected array, received string',
    ],
    [
      'a number in redirect_uris',
      { name: 'A', redirect_uris: ['https://a.example.com/cb', 7] },
      'redirect_uris[1]: Invalid input: expected string, received number',
    ],
    ['a string for public', { name: 'A', public: 'yes' }, 'public: Invalid input: expected boolean, received string'],
    [
      'an unknown grant type',
      { name: 'A', grant_types: ['password'] },
      'grant_types[0]: Invalid option: expected one of "authorization_code"|"refresh_token"|"client_credentials"|"urn:ietf:params:oauth:grant-type:device_code"|"urn:ietf:params:oauth:grant-type:token-exchange"',
    ],
    [
      'admin with a scope',
      { name: 'A', admin: true, scope: 'openid' },
      'admin: an admin client is a client_credentials client with the scope admin; omit grant_types and scope',
    ],
    [
      'a redirect URI with a wildcard',
      { name: 'A', redirect_uris: ['https://*.example.com/cb'] },
      'redirect_uri "https://*.example.com/cb" must not contain wildcards',
    ],
    ['an array body', [{ name: 'A' }], 'the request body must be a JSON object'],
    ['a JSON null body', null, 'the request body must be a JSON object'],
  ])('refuses a new client with %s (400)', async (_label, body, description) => {
    const res = await call('POST', '/admin/clients', body === null ? 'null' : body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: description });
  });

  it('refuses an unknown field and wrong types in a PATCH, changing nothing', async () => {
    const res = await call('PATCH', `/admin/clients/${clientId}`, { name: 'B', client_secret: 'mine' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'unknown field client_secret' });
    const typed = await call('PATCH', `/admin/clients/${clientId}`, { scope: ['openid'] });
    expect(typed.body).toEqual({
      error: 'invalid_request',
      error_description: 'scope: Invalid input: expected string, received array',
    });
    expect((await call('GET', `/admin/clients/${clientId}`)).body.client_name).toBe('Test client');
  });

  it('answers malformed JSON with 400', async () => {
    const res = await call('POST', '/admin/clients', '{"name": "A",');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'the request body is not valid JSON' });
    const empty = await call('POST', '/admin/clients', '');
    expect(empty.body).toEqual({
      error: 'invalid_request',
      error_description: 'the request body is empty; a JSON object is expected',
    });
  });

  it('answers a body that is not application/json with 415', async () => {
    const res = await call('POST', '/admin/clients', 'name=A', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'expected application/json' });
  });

  it('answers a body past 64 KiB with 413, declared or chunked', async () => {
    const big = JSON.stringify({ name: 'A', redirect_uris: ['https://a.example.com/' + 'a'.repeat(70 * 1024)] });
    const declared = await call('POST', '/admin/clients', big);
    expect(declared.status).toBe(413);
    expect(declared.body).toEqual({
      error: 'invalid_request',
      error_description: 'the request body is larger than 65536 bytes',
    });

    // Without Content-Length (chunked), the reader stops at the limit.
    const chunked = await new Promise<{ status: number; body: unknown }>((resolve, reject) => {
      const url = new URL('/admin/clients', server.url);
      const req = request(
        url,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'transfer-encoding': 'chunked',
          },
        },
        (res) => {
          let text = '';
          res
            .setEncoding('utf8')
            .on('data', (c: string) => (text += c))
            .on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 9; i++) req.write(big.slice(i * 8192, (i + 1) * 8192));
      req.end(big.slice(9 * 8192));
    });
    expect(chunked).toEqual({
      status: 413,
      body: { error: 'invalid_request', error_description: 'the request body is too large' },
    });
  });

  it('answers an unknown admin path with 404 and a wrong method with 405, as JSON', async () => {
    const unknown = await call('GET', '/admin/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: 'not_found', error_description: 'no admin route /admin/nothing-here' });
    const wrong = await call('PUT', `/admin/clients/${clientId}`, { name: 'x' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('HEAD, GET, PATCH, DELETE');
    expect(wrong.body).toEqual({
      error: 'method_not_allowed',
      error_description: 'PUT is not allowed here; allowed: HEAD, GET, PATCH, DELETE',
    });
  });

  it('never answers 5xx to odd requests', async () => {
    const odd: [string, string, unknown?][] = [
      ['GET', '/admin/clients/%E0%A4%A'],
      ['GET', `/admin/clients/${'x'.repeat(5000)}`],
      ['GET', '/admin/users?username=' + 'u'.repeat(500)],
      ['GET', '/admin/users/%00/sessions'],
      ['DELETE', '/admin/users/00000000-0000-0000-0000-000000000000/sessions/zz'],
      ['GET', '/admin/audit?cursor=' + 'A'.repeat(2000)],
      ['GET', '/admin/audit?cursor=OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ'],
      ['POST', '/admin/clients', { name: 'A'.repeat(10_000) }],
      [
        'POST',
        '/admin/clients',
        { name: 'A', redirect_uris: Array.from({ length: 100 }, (_, i) => `https://a.example.com/${i}`) },
      ],
      ['PATCH', `/admin/clients/${clientId}`, { grant_types: [] }],
      ['POST', '/admin/clients', '\u0000'],
      ['OPTIONS', '/admin/clients'],
      ['PROPFIND', '/admin/clients'],
    ];
    for (const [method, path, body] of odd) {
      const res = await call(method, path, body);
      expect([method, path, res.status < 500]).toEqual([method, path, true]);
      expect(res.body).toEqual({ error: expect.any(String), error_description: expect.any(String) });
    }
    expect(server.logs.join('')).not.toContain('"msg":"unhandled error"');
  });
});
