// Tracing (README "Tracing"): `npm start` with OTEL_EXPORTER_OTLP_ENDPOINT pointing at an OTLP/HTTP receiver run
// here, in-process. One refresh with an incoming W3C `traceparent` must arrive as a server span of that trace (the
// caller's span its parent) with PostgreSQL and Redis spans beneath it, and the request's log line must name the
// trace; an outgoing request made while serving another carries that trace on. The batch delay is set far beyond
// the test, so the spans can only arrive through the shutdown's flush.
// The same in embedded mode, without database or Redis spans. Without the variable, the server loads no OpenTelemetry
// code at all (a preloaded probe lists every module).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

import { createTestClient, createUser, obtainTokens, refresh } from '../support/oauth.js';
import { REPO_ROOT, startServerProcess, stopAllProcesses, type ServerProcess } from '../support/process.js';
import { createStorage, startOn, type Storage, type TestServer } from '../support/server.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
  scope: string;
  service: unknown;
}

const SERVER = 2; // OTLP SpanKind
const CLIENT = 3;

/** A minimal OTLP/HTTP receiver: POST /v1/traces with the JSON encoding, every span kept with its scope. */
async function startReceiver() {
  const spans: OtlpSpan[] = [];
  const bodies: string[] = [];
  const contentTypes: string[] = [];
  // Also a relying party's jwks_uri, so the server makes an outgoing request: the traceparent it sends is kept.
  const jwks: { keys: JWK[] } = { keys: [] };
  const jwksFetches: (string | undefined)[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/jwks.json') {
        jwksFetches.push(req.headers.traceparent as string | undefined);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.push(req.headers['content-type'] ?? '');
      bodies.push(body);
      const doc = JSON.parse(body) as any;
      for (const rs of doc.resourceSpans ?? []) {
        const service = rs.resource?.attributes?.find((a: any) => a.key === 'service.name')?.value?.stringValue;
        for (const ss of rs.scopeSpans ?? [])
          for (const span of ss.spans ?? []) spans.push({ ...span, scope: ss.scope?.name, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    spans,
    bodies,
    contentTypes,
    jwks,
    jwksFetches,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(r)),
  };
}

const attr = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value === undefined ? undefined : Object.values(value)[0];
};

/** Every module the child processes loaded (test/support/loaded-modules.mjs wrote one list per process). */
async function loadedModules(dir: string): Promise<string[]> {
  const lists = await Promise.all(
    (await readdir(dir)).map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as string[]),
  );
  return lists.flat();
}

const probe = (dir: string) => ({
  NODE_OPTIONS: `--import=${join(REPO_ROOT, 'test/support/loaded-modules.mjs')}`,
  LOADED_MODULES_DIR: dir,
});
const otelPackages = (modules: string[]) =>
  [
    ...new Set(
      modules.flatMap(
        (m) => /node_modules\/(@opentelemetry\/[^/]+|import-in-the-middle|require-in-the-middle)\//.exec(m)?.[1] ?? [],
      ),
    ),
  ].sort();

const asServer = (child: ServerProcess) => ({ url: child.url }) as TestServer;
const newTraceparent = () => ({ traceId: randomBytes(16).toString('hex'), parentId: randomBytes(8).toString('hex') });

describe('tracing over OTLP/HTTP (external: PostgreSQL and Redis)', () => {
  let storage: Storage;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let modulesDir: string;
  beforeAll(async () => {
    receiver = await startReceiver();
    modulesDir = await mkdtemp(join(tmpdir(), 'tg-modules-'));
  });
  afterAll(async () => {
    await stopAllProcesses();
    await receiver?.close();
    await storage?.cleanup();
    await rm(modulesDir, { recursive: true, force: true });
  });

  it('sends the spans of a refresh: the server span a child of the incoming traceparent, pg and ioredis spans within it', async () => {
    storage = await createStorage('external');
    // A client and a user, made in-process; everything after goes through the traced `npm start`.
    const setup = await startOn(storage, {});
    const client = await createTestClient(setup);
    const user = await createUser(setup);
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    receiver.jwks.keys.push({ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' });
    const keyClient = await createTestClient(setup, {
      name: 'Remote keys',
      redirectUris: [],
      grantTypes: ['client_credentials'],
      scopes: 'openid',
      authMethod: 'private_key_jwt',
      jwksUri: `${receiver.url}/jwks.json`,
    });
    await setup.stop();

    const child = await startServerProcess(
      {
        ...storage.env,
        NODE_ENV: 'test',
        RATE_LIMIT_ENABLED: 'false',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: '600000',
        ...probe(modulesDir),
      },
      { timeoutMs: 60_000 },
    );
    const tokens = await obtainTokens(asServer(child), client, user);
    expect(await fetch(`${child.url}/healthz`).then((r) => r.status)).toBe(200);

    const { traceId, parentId } = newTraceparent();
    const res = await refresh(asServer(child), client, tokens.refresh_token, {
      traceparent: `00-${traceId}-${parentId}-01`,
    });
    expect(res.status).toBe(200);
    const requestLine = await waitForLogLine(
      child,
      (l) => l.msg === 'request' && l.path === '/token' && l.trace_id === traceId,
    );

    // An outgoing request (the key client's jwks_uri, fetched to check its assertion) carries the trace on.
    const outgoing = newTraceparent();
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(keyClient.client_id)
      .setSubject(keyClient.client_id)
      .setAudience(child.url)
      .setJti(randomBytes(8).toString('hex'))
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(privateKey);
    const granted = await fetch(`${child.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        traceparent: `00-${outgoing.traceId}-${outgoing.parentId}-01`,
      },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: keyClient.client_id,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }),
    });
    expect(granted.status).toBe(200);
    expect(receiver.jwksFetches).toHaveLength(1);
    expect(receiver.jwksFetches[0]).toMatch(new RegExp(`^00-${outgoing.traceId}-[0-9a-f]{16}-01$`));

    // Nothing of the refresh has been sent yet: only the shutdown's flush can deliver it.
    expect(receiver.spans.filter((s) => s.traceId === traceId)).toEqual([]);
    expect(await child.stop()).toEqual({ code: 0, signal: null });

    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    const serverSpans = spans.filter((s) => s.kind === SERVER);
    expect(serverSpans).toHaveLength(1);
    const server = serverSpans[0]!;
    expect(server).toMatchObject({
      parentSpanId: parentId,
      scope: '@opentelemetry/instrumentation-http',
      service: 'tollgate',
    });
    expect([
      attr(server, 'http.request.method'),
      attr(server, 'url.path'),
      attr(server, 'http.response.status_code'),
    ]).toEqual(['POST', '/token', 200]);
    // The log line names the trace and the server span.
    expect(requestLine.span_id).toBe(server.spanId);

    // Every other span of the trace descends from the server span; PostgreSQL and Redis are among them.
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const descendsFromServer = (s: OtlpSpan): boolean => {
      for (let p = s.parentSpanId; p; p = byId.get(p)?.parentSpanId) if (p === server.spanId) return true;
      return false;
    };
    const others = spans.filter((s) => s !== server);
    expect(others.filter((s) => !descendsFromServer(s))).toEqual([]);
    const pgQueries = others.filter(
      (s) => s.scope === '@opentelemetry/instrumentation-pg' && typeof attr(s, 'db.query.text') === 'string',
    );
    expect(pgQueries.length).toBeGreaterThan(0);
    expect(pgQueries.every((s) => attr(s, 'db.system.name') === 'postgresql')).toBe(true);
    const redisCommands = others.filter((s) => s.scope === '@opentelemetry/instrumentation-ioredis');
    expect(redisCommands.length).toBeGreaterThan(0);
    // Redis spans name the command only: their arguments carry sealed payloads.
    for (const s of redisCommands) expect(attr(s, 'db.query.text')).toMatch(/^[a-z]+$/);

    // Sent as OTLP JSON; no token or secret in any span; no query string, and interaction ids masked, on server spans.
    expect(new Set(receiver.contentTypes)).toEqual(new Set(['application/json']));
    const everything = receiver.bodies.join('\n');
    for (const secret of [
      tokens.refresh_token,
      res.body.refresh_token as string,
      tokens.access_token,
      client.client_secret!,
    ])
      expect(everything).not.toContain(secret);
    const allServerSpans = receiver.spans.filter((s) => s.kind === SERVER);
    expect(allServerSpans.map((s) => attr(s, 'url.path'))).toEqual(
      expect.arrayContaining(['/auth', '/interaction/:uid', '/token']),
    );
    expect(
      allServerSpans.filter(
        (s) =>
          attr(s, 'url.query') !== undefined || /^\/(interaction|auth)\/(?!:uid)/.test(String(attr(s, 'url.path'))),
      ),
    ).toEqual([]);
    // The outgoing request is a client span of its trace, beneath that request's server span, and the span id it
    // sent in traceparent is its own.
    const outgoingSpans = receiver.spans.filter((s) => s.traceId === outgoing.traceId);
    const outgoingServer = outgoingSpans.find((s) => s.kind === SERVER && s.parentSpanId === outgoing.parentId);
    const clientSpan = outgoingSpans.find(
      (s) => s.kind === CLIENT && s.scope === '@opentelemetry/instrumentation-undici',
    );
    expect(outgoingServer).toBeDefined();
    expect(clientSpan).toMatchObject({ parentSpanId: outgoingServer!.spanId });
    expect(attr(clientSpan!, 'url.full')).toBe(`${receiver.url}/jwks.json`);
    expect(receiver.jwksFetches[0]).toBe(`00-${outgoing.traceId}-${clientSpan!.spanId}-01`);
    // Probes are not traced.
    expect(allServerSpans.filter((s) => attr(s, 'url.path') === '/healthz')).toEqual([]);

    // The probe saw the tracing modules load (so its silence in the next test means something).
    expect(otelPackages(await loadedModules(modulesDir))).toEqual(
      expect.arrayContaining([
        '@opentelemetry/sdk-trace-node',
        '@opentelemetry/instrumentation-pg',
        '@opentelemetry/instrumentation-ioredis',
        'import-in-the-middle',
      ]),
    );
  });
});

describe('tracing on in embedded mode (PGlite and the in-process store)', () => {
  let dataDir: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
    dataDir = await mkdtemp(join(tmpdir(), 'tg-trace-embedded-'));
  });
  afterAll(async () => {
    await stopAllProcesses();
    await receiver?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('sends the server span under the incoming traceparent and logs its ids; no database or Redis spans exist here', async () => {
    const child = await startServerProcess(
      {
        DATA_DIR: dataDir,
        NODE_ENV: 'test',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: '600000',
      },
      { timeoutMs: 90_000 },
    );
    const { traceId, parentId } = newTraceparent();
    const res = await fetch(`${child.url}/token`, {
      method: 'POST',
      headers: { traceparent: `00-${traceId}-${parentId}-01`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=refresh_token&refresh_token=x&client_id=nobody',
    });
    expect(res.status).toBe(401);
    const line = await waitForLogLine(
      child,
      (l) => l.msg === 'request' && l.path === '/token' && l.trace_id === traceId,
    );
    expect(await child.stop()).toEqual({ code: 0, signal: null });

    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    expect(spans).toHaveLength(1);
    expect(spans[0]).toMatchObject({ kind: SERVER, parentSpanId: parentId, spanId: line.span_id, service: 'tollgate' });
    expect([attr(spans[0]!, 'url.path'), attr(spans[0]!, 'http.response.status_code')]).toEqual(['/token', 401]);
  });
});

describe('tracing off (embedded, the `npm start` default)', () => {
  let dataDir: string;
  let modulesDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tg-notrace-'));
    modulesDir = await mkdtemp(join(tmpdir(), 'tg-modules-'));
  });
  afterAll(async () => {
    await stopAllProcesses();
    await rm(dataDir, { recursive: true, force: true });
    await rm(modulesDir, { recursive: true, force: true });
  });

  it('loads no OpenTelemetry SDK, exporter, instrumentation or loader hook, and logs no trace id', async () => {
    const child = await startServerProcess(
      { DATA_DIR: dataDir, NODE_ENV: 'test', ...probe(modulesDir) },
      { timeoutMs: 90_000 },
    );
    const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
    const res = await fetch(`${child.url}/token`, {
      method: 'POST',
      headers: { traceparent, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=refresh_token&refresh_token=x&client_id=nobody',
    });
    expect(res.status).toBe(401);
    const line = await waitForLogLine(child, (l) => l.msg === 'request' && l.path === '/token');
    expect(line.trace_id).toBeUndefined();
    expect(await child.stop()).toEqual({ code: 0, signal: null });

    const modules = await loadedModules(modulesDir);
    expect(modules.some((m) => m.includes('/node_modules/oidc-provider/'))).toBe(true); // the probe saw the server load
    // Except @opentelemetry/api: prom-client's default process metrics require it (a no-op API without an SDK).
    expect(otelPackages(modules).filter((p) => p !== '@opentelemetry/api')).toEqual([]);
  });
});

async function waitForLogLine(
  child: ServerProcess,
  match: (line: Record<string, unknown>) => boolean,
  ms = 10_000,
): Promise<Record<string, unknown>> {
  const until = Date.now() + ms;
  for (;;) {
    for (const raw of child.logs) {
      try {
        const line = JSON.parse(raw) as Record<string, unknown>;
        if (match(line)) return line;
      } catch {
        // not a JSON line
      }
    }
    if (Date.now() > until)
      throw new Error(`no matching log line; stdout:\n${child.logs.join('\n')}\nstderr: ${child.stderr()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
