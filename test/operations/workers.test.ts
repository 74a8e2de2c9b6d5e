// WORKERS=2 through `npm start` on real PostgreSQL and Redis (README "Workers"): two server processes answer on one
// port, a refresh-token chain rotated across both stays one chain (and a replay on either is reuse), a worker that
// dies is replaced, and SIGTERM to npm stops every process gracefully with exit 0. On the embedded default the
// setting is refused at start-up. Which process answered a request is read from its log line (each worker's lines
// carry its pid; the request is found by the X-Request-Id the test sends): nothing public names a process. Tracing is
// on (an OTLP/HTTP receiver here): each worker starts it, so the refreshes each worker served arrive as traces.
// /metrics, on METRICS_PORT (served by the primary) and on the main port (by any worker), counts every worker's work.
import { randomBytes } from 'node:crypto';
import { createServer, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { ClientView } from '../../src/clients/clients.js';
import { obtainTokens, REDIRECT_URI, type User } from '../support/oauth.js';
import { runCliInProcess } from '../support/cli.js';
import { freePort, startServerProcess, stopAllProcesses, type ServerProcess } from '../support/process.js';
import { createStorage, type Storage } from '../support/server.js';

interface LogLine {
  msg?: string;
  pid?: number;
  reqId?: string;
  worker_pid?: number;
  worker_pids?: number[];
  [field: string]: unknown;
}

const parsed = (server: ServerProcess): LogLine[] =>
  server.logs.flatMap((line) => {
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });

async function waitFor<T>(what: string, server: ServerProcess, find: () => T | undefined, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > until)
      throw new Error(`timed out waiting for ${what}\nstdout: ${server.logs.join('\n')}\nstderr: ${server.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One request on a connection of its own (no keep-alive pool): the cluster hands each connection to a worker. */
function send(
  port: number,
  path: string,
  {
    form,
    authorization,
    requestId,
    traceparent,
  }: { form?: Record<string, string>; authorization?: string; requestId: string; traceparent?: string },
) {
  return sendText(port, path, { form, authorization, requestId, traceparent }).then(({ status, text }) => ({
    status,
    body: JSON.parse(text || '{}') as Record<string, unknown>,
  }));
}

function sendText(
  port: number,
  path: string,
  {
    form,
    authorization,
    requestId,
    traceparent,
  }: {
    form?: Record<string, string> | undefined;
    authorization?: string | undefined;
    requestId: string;
    traceparent?: string | undefined;
  },
) {
  const body = form ? new URLSearchParams(form).toString() : undefined;
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: body ? 'POST' : 'GET',
        agent: false,
        headers: {
          'x-request-id': requestId,
          accept: 'application/json',
          ...(body
            ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) }
            : {}),
          ...(authorization ? { authorization } : {}),
          ...(traceparent ? { traceparent } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

/** A sample's value in Prometheus text (undefined when the series is absent). */
const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

/** The pid of the worker whose log line answered the request `requestId`. */
const answeredBy = (server: ServerProcess, requestId: string) =>
  waitFor(
    `the log line of request ${requestId}`,
    server,
    () => parsed(server).find((l) => l.msg === 'request' && l.reqId === requestId)?.pid,
  );

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const portRefuses = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });

/** A minimal OTLP/HTTP (JSON) receiver: the trace ids of the server spans and of the PostgreSQL spans it got. */
async function startReceiver() {
  const serverTraces = new Set<string>();
  const pgTraces = new Set<string>();
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const doc = JSON.parse(body || '{}') as {
        resourceSpans?: { scopeSpans?: { scope?: { name?: string }; spans?: { traceId: string; kind: number }[] }[] }[];
      };
      for (const rs of doc.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) {
          for (const span of ss.spans ?? []) {
            if (span.kind === 2) serverTraces.add(span.traceId); // SpanKind SERVER
            if (ss.scope?.name === '@opentelemetry/instrumentation-pg') pgTraces.add(span.traceId);
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    serverTraces,
    pgTraces,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(r)),
  };
}

async function cli(args: string[], env: Record<string, string>, stdin?: string): Promise<Record<string, unknown>> {
  const res = await runCliInProcess(args, { env, ...(stdin !== undefined ? { stdin } : {}) });
  if (res.code !== 0) throw new Error(`cli ${args.slice(0, 2).join(' ')} failed (${res.code}): ${res.stderr}`);
  return res.json as Record<string, unknown>;
}

const METRICS_TOKEN = randomBytes(16).toString('hex');

describe('WORKERS=2 (npm start, PostgreSQL and Redis)', () => {
  let storage: Storage;
  let server: ServerProcess;
  let workerPids: number[];
  let client: ClientView;
  let user: User;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let metricsPort: number;

  beforeAll(async () => {
    storage = await createStorage('external');
    receiver = await startReceiver();
    const env = {
      ...storage.env,
      WORKERS: '2',
      SHUTDOWN_TIMEOUT_SECONDS: '5',
      REFRESH_REUSE_GRACE_SECONDS: '0',
      RATE_LIMIT_ENABLED: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      METRICS_PORT: String(await freePort()),
      METRICS_TOKEN: METRICS_TOKEN,
    };
    metricsPort = Number(env.METRICS_PORT);
    server = await startServerProcess(env, { npmScript: 'start', timeoutMs: 120_000 });
    workerPids = await waitFor(
      '"tollgate cluster ready"',
      server,
      () => parsed(server).find((l) => l.msg === 'tollgate cluster ready')?.worker_pids,
    );
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const created = await cli(
      ['users', 'create', '--username', `w${randomBytes(4).toString('hex')}`, '--password-stdin'],
      storage.env,
      password,
    );
    user = { id: String(created.id), username: String(created.username), password };
    client = (await cli(
      ['clients', 'create', '--name', 'Workers test', '--redirect-uri', REDIRECT_URI],
      storage.env,
    )) as unknown as ClientView;
  }, 240_000);

  afterAll(async () => {
    await stopAllProcesses();
    await receiver?.close();
    await storage?.cleanup();
  });

  it('runs two worker processes under the npm process, and both answer on the one port', async () => {
    expect(workerPids).toHaveLength(2);
    expect(new Set(workerPids).size).toBe(2);
    expect(workerPids).not.toContain(server.pid);
    for (const pid of workerPids) expect(alive(pid)).toBe(true);
    const answered = new Set<number>();
    for (let i = 0; i < 6; i++) {
      const id = `health-${i}-${randomBytes(4).toString('hex')}`;
      expect((await send(server.port, '/healthz', { requestId: id })).status).toBe(200);
      answered.add(await answeredBy(server, id));
    }
    expect([...answered].sort()).toEqual([...workerPids].sort());
  }, 60_000);

  it('rotates one refresh-token chain across both workers, and a replayed token revokes the family', async () => {
    const tokens = await obtainTokens(server, client, user);
    const authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret!)}`).toString('base64')}`;
    const chain = [tokens.refresh_token];
    const rotatedBy = new Set<number>();
    const tracedBy = new Map<string, number>();
    for (let i = 0; i < 6; i++) {
      const id = `rotate-${i}-${randomBytes(4).toString('hex')}`;
      const traceId = randomBytes(16).toString('hex');
      const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
      const res = await send(server.port, '/token', {
        form: { grant_type: 'refresh_token', refresh_token: chain.at(-1)! },
        authorization,
        requestId: id,
        traceparent,
      });
      expect(res).toMatchObject({
        status: 200,
        body: { refresh_token: expect.any(String), access_token: expect.any(String) },
      });
      chain.push(String(res.body.refresh_token));
      const pid = await answeredBy(server, id);
      rotatedBy.add(pid);
      tracedBy.set(traceId, pid);
    }
    expect([...rotatedBy].sort()).toEqual([...workerPids].sort()); // the chain really crossed processes
    // Each worker traced what it served: a server span and PostgreSQL spans for every one of those refreshes.
    const traced = [...tracedBy.keys()];
    await waitFor(
      'the spans of every refresh',
      server,
      () => (traced.every((t) => receiver.serverTraces.has(t) && receiver.pgTraces.has(t)) ? true : undefined),
      30_000,
    );
    for (const [traceId, pid] of tracedBy) {
      expect(parsed(server).find((l) => l.msg === 'request' && l.trace_id === traceId)).toMatchObject({ pid });
    }
    expect(new Set(chain).size).toBe(chain.length);

    // The metrics count the six rotations, wherever they ran, whoever is asked: the primary on METRICS_PORT, and
    // each worker on the main port (one scrape per connection: both workers answer one of them).
    const rotated = 'tollgate_refresh_outcomes_total{outcome="rotated"}';
    const scraped = await sendText(metricsPort, '/metrics', { requestId: 'scrape-port' });
    expect({ status: scraped.status, rotated: sample(scraped.text, rotated) }).toEqual({ status: 200, rotated: 6 });
    const scrapedBy = new Set<number>();
    for (let i = 0; i < 2; i++) {
      const id = `scrape-${i}-${randomBytes(4).toString('hex')}`;
      const res = await sendText(server.port, '/metrics', { requestId: id, authorization: `Bearer ${METRICS_TOKEN}` });
      expect({ status: res.status, rotated: sample(res.text, rotated) }).toEqual({ status: 200, rotated: 6 });
      scrapedBy.add(await answeredBy(server, id));
    }
    expect([...scrapedBy].sort()).toEqual([...workerPids].sort());

    // Replayed on one worker, then the current token on the other: the family is gone for both.
    const replayId = `replay-${randomBytes(4).toString('hex')}`;
    const replay = await send(server.port, '/token', {
      form: { grant_type: 'refresh_token', refresh_token: chain[2]! },
      authorization,
      requestId: replayId,
    });
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const replayedOn = await answeredBy(server, replayId);
    const refusedBy = new Set([replayedOn]);
    for (let i = 0; i < 2; i++) {
      const id = `after-${i}-${randomBytes(4).toString('hex')}`;
      const res = await send(server.port, '/token', {
        form: { grant_type: 'refresh_token', refresh_token: chain.at(-1)! },
        authorization,
        requestId: id,
      });
      expect(res).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      refusedBy.add(await answeredBy(server, id));
    }
    expect([...refusedBy].sort()).toEqual([...workerPids].sort()); // refused by both workers
    const audit = parsed(server).filter(
      (l) => typeof l.msg === 'string' && l.msg.includes('refresh_token.reuse_detected'),
    );
    expect(audit.length).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('replaces a worker that dies, and the replacement serves', async () => {
    const [victim, survivor] = workerPids as [number, number];
    process.kill(victim, 'SIGKILL');
    const replacement = await waitFor(
      'a replacement worker',
      server,
      () =>
        parsed(server).find(
          (l) => l.msg === 'worker ready' && l.worker_pid !== undefined && !workerPids.includes(l.worker_pid),
        )?.worker_pid,
    );
    const died = parsed(server).find((l) => l.msg === 'worker died; starting a replacement');
    expect(died).toMatchObject({ worker_pid: victim, signal: 'SIGKILL', restart_in_ms: expect.any(Number) });
    expect(alive(victim)).toBe(false);
    expect(alive(replacement)).toBe(true);
    const answered = new Set<number>();
    for (let i = 0; i < 6; i++) {
      const id = `replaced-${i}-${randomBytes(4).toString('hex')}`;
      expect((await send(server.port, '/healthz', { requestId: id })).status).toBe(200);
      answered.add(await answeredBy(server, id));
    }
    expect([...answered].sort()).toEqual([replacement, survivor].sort());
    workerPids = [survivor, replacement];
  }, 120_000);

  it('SIGTERM to npm stops every worker within SHUTDOWN_TIMEOUT_SECONDS, closes the port and exits 0', async () => {
    const started = Date.now();
    const exit = await server.stop(30_000, 'SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await portRefuses(server.port)).toBe(true);
    for (const pid of workerPids) expect(alive(pid)).toBe(false);
    const lines = parsed(server);
    for (const pid of workerPids) expect(lines.some((l) => l.msg === 'stopped' && l.pid === pid)).toBe(true); // each stopped gracefully
    expect(lines.filter((l) => l.msg === 'stopped' && l.role === 'primary')).toEqual([
      expect.objectContaining({ clean: true }),
    ]);
  }, 60_000);
});

describe('WORKERS=2 when a worker cannot start', () => {
  afterAll(() => stopAllProcesses());

  it('stops there: the error on stderr, no second worker, exit 1', async () => {
    // A database that does not exist: the first worker fails while opening it, before anything listens.
    const missing = new URL(process.env.TEST_PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
    missing.pathname = `/tg_missing_${randomBytes(6).toString('hex')}`;
    const env = {
      DATABASE_URL: missing.toString(),
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
      WORKERS: '2',
    };
    const failed = await startServerProcess(env, { npmScript: 'start', timeoutMs: 60_000 }).then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(failed).toMatch(/exited \(code 1, signal null\) before listening/);
    expect(failed).toMatch(/tollgate failed to start: .*tg_missing_/);
    expect(failed).toContain('a worker failed to start; stopping the others');
    expect(failed).not.toContain('"worker ready"');
    expect(failed?.match(/"msg":"stopped"/g)).toHaveLength(1); // the primary's
  }, 90_000);
});

describe('WORKERS on the embedded default', () => {
  let storage: Storage;
  afterAll(async () => {
    await stopAllProcesses();
    await storage?.cleanup();
  });

  it('is refused at start-up with exit 2, naming DATABASE_URL and REDIS_URL', async () => {
    storage = await createStorage('embedded');
    const refused = await startServerProcess(
      { ...storage.env, WORKERS: '2' },
      { npmScript: 'start', timeoutMs: 60_000 },
    ).then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/exited \(code 2, signal null\) before listening/);
    expect(refused).toContain(
      'WORKERS: more than 1 needs DATABASE_URL and REDIS_URL (DATABASE_URL and REDIS_URL not set)',
    );
  }, 90_000);
});
