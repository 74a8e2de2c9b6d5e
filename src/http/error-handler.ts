// The one outermost place that decides what a client sees when something throws. Exposed errors (4xx from our
// errors module, http-errors or oidc-provider) keep their code and description; a backing service that does not
// answer becomes 503 temporarily_unavailable; anything else is a 500 whose details stay in the log. Browsers
// (Accept: text/html) get an escaped page, everyone else RFC 6749 §5.2 JSON.
import type { Middleware } from 'koa';

import { isDependencyFailure, TemporarilyUnavailable } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { errorPage } from '../../views/error.js';
import type { Theme } from '../../views/theme.js';

interface Thrown {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  error?: string;
  message?: string;
  error_description?: string;
  headers?: Record<string, string>;
}

export function errorHandler(logger: Logger, theme: Theme): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (thrown) {
      const err = (thrown ?? {}) as Thrown;
      const log: Logger = ctx.state.log ?? logger;
      let status = err.statusCode ?? err.status ?? 500;
      let body: { error: string; error_description: string };
      if (isDependencyFailure(thrown)) {
        status = 503;
        const unavailable = new TemporarilyUnavailable(); // the one 503 body, whatever the failure said
        body = { error: unavailable.error, error_description: unavailable.error_description };
        log.warn({ err: thrown }, 'dependency unavailable');
      } else if (err.expose && status < 500) {
        body = {
          error: err.error ?? (status === 404 ? 'not_found' : status === 429 ? 'slow_down' : 'invalid_request'),
          error_description: err.error_description ?? err.message ?? 'the request is invalid',
        };
      } else {
        status = 500;
        body = { error: 'server_error', error_description: 'an unexpected error occurred' };
        log.error({ err: thrown }, 'unhandled error');
      }
      ctx.status = status;
      ctx.set('Cache-Control', 'no-store');
      ctx.set('Pragma', 'no-cache');
      if (status === 503) ctx.set('Retry-After', '1');
      for (const [name, value] of Object.entries(err.headers ?? {}))
        if (/^(retry-after|www-authenticate)$/i.test(name)) ctx.set(name, value);
      if (ctx.accepts('json', 'html') === 'html') {
        ctx.type = 'html';
        ctx.body = errorPage(theme, { error: body.error, description: body.error_description });
      } else {
        ctx.body = body;
      }
    }
  };
}
