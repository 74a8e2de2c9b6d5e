// One child logger per request, carrying its id; one line per request when it ends. Only the path is logged,
// never the query string (authorization requests, logout hints) nor any body. The child is made on first use:
// with redaction configured, pino's child() costs about as much as a cached token lookup, and at the production
// level most requests never log. With tracing on, the child also carries the request's trace and span ids
// (trace_id, span_id), so a log line leads to its trace and back.
import { randomUUID } from 'node:crypto';

import type { Middleware } from 'koa';

import type { Logger } from './logger.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Interaction ids travel in paths and cookies and bind a browser to a login; they are not logged either. */
export const loggablePath = (path: string) => path.replace(/^\/(interaction|auth)\/[^/]+/, '/$1/:uid');

/** The ids of the span the request runs in (its server span), when tracing is on. */
export type TraceIds = () => { traceId: string; spanId: string } | undefined;

export function requestLogger(logger: Logger, traceIds?: TraceIds): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const id = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = id;
    const ids = traceIds?.();
    const bindings = ids ? { reqId: id, trace_id: ids.traceId, span_id: ids.spanId } : { reqId: id };
    let child: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', {
      configurable: true,
      enumerable: true,
      get: () => (child ??= logger.child(bindings)),
    });
    ctx.set('X-Request-Id', id);
    const started = performance.now();
    try {
      await next();
    } finally {
      const status = ctx.status;
      const level = status >= 500 ? 'error' : 'info';
      if (logger.isLevelEnabled(level)) {
        const line = {
          method: ctx.method,
          path: loggablePath(ctx.path),
          status,
          ms: Math.round(performance.now() - started),
        };
        if (level === 'error') ctx.state.log.error(line, 'request failed');
        else ctx.state.log.info(line, 'request');
      }
    }
  };
}
