// One child logger per request, carrying its id; one line per request when it ends. Only the path is logged,
// never the query string (authorization requests, logout hints) nor any body.
import { randomUUID } from 'node:crypto';

import type { Middleware } from 'koa';

import type { Logger } from './logger.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Interaction ids travel in paths and cookies and bind a browser to a login; they are not logged either. */
export const loggablePath = (path: string) => path.replace(/^\/(interaction|auth)\/[^/]+/, '/$1/:uid');

export function requestLogger(logger: Logger): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const id = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = id;
    ctx.state.log = logger.child({ reqId: id });
    ctx.set('X-Request-Id', id);
    const started = performance.now();
    try {
      await next();
    } finally {
      const status = ctx.status;
      const line = { method: ctx.method, path: loggablePath(ctx.path), status, ms: Math.round(performance.now() - started) };
      if (status >= 500) ctx.state.log.error(line, 'request failed');
      else ctx.state.log.info(line, 'request');
    }
  };
}
