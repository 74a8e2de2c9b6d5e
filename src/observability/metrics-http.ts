// HTTP side of the metrics: timing every request by a bounded route label, and serving the registry either on
// the main port behind a bearer token or on a port of its own.
import { createServer, type Server } from 'node:http';

import Router from '@koa/router';
import type { Middleware } from 'koa';

import { constantTimeEqual } from '../crypto/token-hash.js';
import { Unauthorized } from '../errors.js';
import type { Metrics } from './metrics.js';

/** What /metrics serves: this process's registry (a Registry is one), or a cluster's sum (cluster-metrics.ts). */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** oidc-provider's route name, else the matched router template, else a fixed label: never a raw path. */
export function requestMetrics(metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route =
        (ctx as { oidc?: { route?: string } }).oidc?.route ??
        (ctx as { _matchedRoute?: string })._matchedRoute ??
        'unmatched';
      metrics.observeRequest(String(route), ctx.method, ctx.status, (performance.now() - started) / 1000);
    }
  };
}

export function createMetricsRouter(source: MetricsSource, token: string): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    const presented = /^Bearer (.+)$/i.exec(ctx.get('authorization'))?.[1];
    if (!presented || !constantTimeEqual(presented, token)) {
      ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
      throw new Unauthorized('a valid metrics bearer token is required');
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = source.contentType;
    ctx.body = await source.metrics();
  });
  return router;
}

/** A separate listener for scrapers on a private interface; it serves /metrics only. */
export async function listenMetrics(source: MetricsSource, port: number, host: string): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    source.metrics().then(
      (body) => res.writeHead(200, { 'content-type': source.contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
