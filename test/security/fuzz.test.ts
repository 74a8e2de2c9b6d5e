// Property-based: generated hostile requests at the token, introspection, revocation and interaction endpoints
// never produce a 5xx; OAuth endpoints answer 4xx with an RFC 6749 JSON error; the server is alive afterwards.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';

import { createTestClient, createUser, obtainTokens } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';
import type { ClientView } from '../../src/clients/clients.js';

const OAUTH_PATHS = ['/token', '/token/introspection', '/token/revocation'];
// Lone surrogates cannot be percent-encoded; the raw bodies below still carry them.
const enc = (s: string) => encodeURIComponent((s as string & { toWellFormed(): string }).toWellFormed());

describe('fuzzing hostile requests', () => {
  let server: TestServer;
  let client: ClientView;
  beforeAll(async () => {
    server = await startServer('external');
    client = await createTestClient(server);
  });
  afterAll(() => server?.stop());

  const text = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.constantFrom(
      '%',
      '%E0%A4%A',
      '%ZZ',
      '%00',
      '\u0000',
      '\uD800',
      '../../etc/passwd',
      '<script>alert(1)</script>',
      'a'.repeat(5000),
    ),
  );
  const param = fc.tuple(
    fc.constantFrom(
      'grant_type',
      'refresh_token',
      'code',
      'code_verifier',
      'redirect_uri',
      'client_id',
      'client_secret',
      'token',
      'token_type_hint',
      'scope',
      'resource',
      'username',
      'password',
      'decision',
      'x',
    ),
    text,
  );
  const form = fc.array(param, { maxLength: 8 }).map((pairs) => pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&'));
  const rawBody = fc.oneof(
    form,
    form.map((f) => `${f}&${f}`), // duplicated parameters
    text,
    fc.json(),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  );
  const contentType = fc.constantFrom(
    'application/x-www-form-urlencoded',
    'application/json',
    'text/plain',
    'multipart/form-data; boundary=x',
    'application/x-www-form-urlencoded; charset=latin1',
    'garbage',
    undefined,
  );
  const authorization = fc.oneof(
    fc.constant(undefined),
    fc.constant('valid'),
    text.map((t) => `Basic ${Buffer.from(t).toString('base64')}`),
    text.map((t) => `Bearer ${t.replace(/[^\x20-\x7e]/g, '')}`),
    fc.constantFrom('Basic !!!', 'Basic', 'Digest x'),
  );
  const path = fc.oneof(
    fc.constantFrom(...OAUTH_PATHS),
    text.map((t) => `/interaction/${enc(t).slice(0, 200)}`),
    text.map((t) => `/interaction/${enc(t).slice(0, 200)}/login`),
    fc.constantFrom(
      '/interaction/%2e%2e/%2e%2e/login',
      '/token/../token',
      '/token%00',
      '/auth?response_type=code&client_id=%00',
    ),
  );

  it('never answers 5xx, and OAuth errors are JSON', async () => {
    await fc.assert(
      fc.asyncProperty(
        path,
        fc.constantFrom('POST', 'GET', 'PUT', 'DELETE'),
        contentType,
        rawBody,
        authorization,
        async (p, method, type, body, auth) => {
          const headers: Record<string, string> = { accept: 'application/json' };
          if (type) headers['content-type'] = type;
          if (auth === 'valid')
            headers.authorization = `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`;
          else if (auth) headers.authorization = auth;
          const res = await fetch(`${server.url}${p}`, { method, headers, body: method === 'GET' ? undefined : body });
          const payload = await res.text();
          expect({ status: res.status, p, method }).toEqual({ status: expect.any(Number), p, method });
          expect(res.status).toBeLessThan(500);
          if (OAUTH_PATHS.includes(p) && method === 'POST' && res.status >= 400) {
            const json = JSON.parse(payload) as Record<string, unknown>;
            expect(typeof json.error).toBe('string');
            expect(typeof json.error_description).toBe('string');
          }
        },
      ),
      // A fixed seed keeps CI deterministic; FUZZ_SEED explores further (any failure prints its seed and path).
      { numRuns: 250, interruptAfterTimeLimit: 60_000, seed: Number(process.env.FUZZ_SEED ?? 20261127) },
    );
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const tokens = await obtainTokens(server, client, await createUser(server));
    expect(tokens.access_token).toEqual(expect.any(String));
  });
});
