// oidc-provider reports through events; this is the one place that listens. Server errors are logged (never
// with token values: oidc-provider's errors carry none); a backing service that does not answer is handed back to
// Tollgate's error handler, the one path from failure to response (src/http/error-handler.ts).
import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

import { isDependencyFailure } from '../errors.js';
import type { Logger } from '../observability/logger.js';

interface OAuthError {
  message?: string;
  error_detail?: string;
}

export function listenToProvider(provider: Provider, logger: Logger): void {
  // oidc-provider's endpoints catch what they did not expect, answer 500 server_error and emit `server_error`
  // (documented events). A dependency failure is no such error: the contract promises 503 temporarily_unavailable
  // with Retry-After. The listener keeps it for the request; the middleware below, which wraps oidc-provider's
  // router (provider.use), throws it again once the endpoint returns, so Tollgate's error handler answers it as it
  // answers every other dependency failure. The error object identifies the request: no state outlives it.
  const swallowed = new WeakMap<object, unknown>();
  provider.on('server_error', (ctx: KoaContextWithOIDC, err: unknown) => {
    if (isDependencyFailure(err)) {
      swallowed.set(ctx, err);
      return;
    }
    const log: Logger = ctx.state?.log ?? logger;
    log.error({ err, route: ctx.oidc?.route }, 'oidc-provider server error');
  });
  const surfaceDependencyFailures: Middleware = async (ctx, next) => {
    await next();
    const err = swallowed.get(ctx);
    if (err !== undefined) {
      swallowed.delete(ctx);
      throw err;
    }
  };
  provider.use(surfaceDependencyFailures);

  // oidc-provider's typings list each event with its own listener type; these five share one shape.
  const on = provider.on.bind(provider) as (
    event: string,
    listener: (ctx: KoaContextWithOIDC, err: OAuthError) => void,
  ) => void;
  for (const event of [
    'grant.error',
    'introspection.error',
    'revocation.error',
    'authorization.error',
    'end_session.error',
  ]) {
    on(event, (ctx, err) => {
      const log: Logger = ctx.state?.log ?? logger;
      log.info(
        { event, error: err.message, detail: err.error_detail, client: ctx.oidc?.client?.clientId },
        'oauth error',
      );
    });
  }
}
