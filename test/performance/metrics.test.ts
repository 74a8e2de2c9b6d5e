// /metrics in Prometheus format: protected by its bearer token, and moving with rotations and reuse detections.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { createTestClient, createUser, obtainTokens, refresh } from '../support/oauth.js';
import { startServer, type TestServer } from '../support/server.js';

const TOKEN = 'metrics-token-0123456789abcdef';

/** The value of one sample, e.g. tollgate_refresh_outcomes_total{outcome="rotated"}. */
function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`) || l.startsWith(`${name}{${labels},`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('external', { METRICS_TOKEN: TOKEN });
  });
  afterAll(() => server?.stop());

  const scrape = async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it('refuses a scrape without the token', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect(
      (await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status,
    ).toBe(401);
  });

  it('counts rotations, reuse detections, family revocations, requests and database round trips', async () => {
    const before = await scrape();
    const client = await createTestClient(server);
    const first = await obtainTokens(server, client, await createUser(server));
    const second = await refresh(server, client, first.refresh_token);
    await refresh(server, client, first.refresh_token); // grace replay
    await refresh(server, client, second.body.refresh_token as string);
    await refresh(server, client, first.refresh_token); // reuse
    await refresh(server, client, 'x'.repeat(43)); // invalid
    const after = await scrape();

    const delta = (name: string, labels: string) => sample(after, name, labels) - sample(before, name, labels);
    expect(delta('tollgate_refresh_outcomes_total', 'outcome="rotated"')).toBe(2);
    expect(delta('tollgate_refresh_outcomes_total', 'outcome="grace_replayed"')).toBe(1);
    expect(delta('tollgate_refresh_outcomes_total', 'outcome="reuse_detected"')).toBe(1);
    expect(delta('tollgate_refresh_outcomes_total', 'outcome="invalid"')).toBe(1);
    expect(delta('tollgate_family_revocations_total', 'reason="reuse_detected"')).toBe(1);
    expect(
      delta('tollgate_http_request_duration_seconds_count', 'route="token",method="POST",status="200"'),
    ).toBeGreaterThanOrEqual(4);
    expect(delta('tollgate_http_request_duration_seconds_count', 'route="token",method="POST",status="400"')).toBe(2);
    expect(delta('tollgate_database_query_duration_seconds_count', 'outcome="ok"')).toBeGreaterThan(5);
    expect(
      delta('tollgate_store_command_duration_seconds_count', 'command="setIfAbsent",outcome="ok"'),
    ).toBeGreaterThanOrEqual(2);
    expect(after).toContain('tollgate_process_resident_memory_bytes');
  });

  it('records an error response under the status actually sent, whatever threw it', async () => {
    const before = await scrape();
    expect((await fetch(`${server.url}/admin/clients`)).status).toBe(401); // thrown by the admin guard
    const after = await scrape();
    const delta = (labels: string) =>
      sample(after, 'tollgate_http_request_duration_seconds_count', labels) -
      sample(before, 'tollgate_http_request_duration_seconds_count', labels);
    expect(delta('route="/admin/clients",method="GET",status="401"')).toBe(1);
    expect(delta('route="/admin/clients",method="GET",status="404"')).toBe(0);
    expect(after).toContain('tollgate_dependency_errors_total{dependency="database",reason="connection_refused"} 0');
  });
});

describe('metrics on a port of their own', () => {
  let server: TestServer;
  let port: number;
  beforeAll(async () => {
    const { createServer } = await import('node:net');
    port = await new Promise((resolve) => {
      const s = createServer().listen(0, () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    server = await startServer('embedded', { METRICS_PORT: String(port) });
  });
  afterAll(() => server?.stop());

  it('serves /metrics there without a token, and not on the main port', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('tollgate_refresh_outcomes_total');
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
  });
});
