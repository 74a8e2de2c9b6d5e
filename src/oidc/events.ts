// oidc-provider reports through events; this is the one place that listens. Server errors are logged (never
// with token values: oidc-provider's errors carry none) and, when a backing service is the cause, turned into
// the 503 the contract promises, since oidc-provider itself only knows 500.
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

import { isDependencyFailure } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { errorPage } from '../../views/error.js';
import type { Theme } from '../../views/theme.js';

interface OAuthError {
  message?: string;
  error_detail?: string;
}

const UNAVAILABLE = { error: 'temporarily_unavailable', error_description: 'a backing service is unavailable, retry shortly' };

export function listenToProvider(provider: Provider, logger: Logger, theme: Theme): void {
  provider.on('server_error', (ctx: KoaContextWithOIDC, err: unknown) => {
    const log: Logger = ctx.state?.log ?? logger;
    if (isDependencyFailure(err)) {
      log.warn({ err }, 'dependency unavailable');
      ctx.status = 503;
      ctx.set('Retry-After', '1');
      if (ctx.type === 'text/html') ctx.body = errorPage(theme, { error: UNAVAILABLE.error, description: UNAVAILABLE.error_description });
      else ctx.body = UNAVAILABLE;
      return;
    }
    log.error({ err, route: ctx.oidc?.route }, 'oidc-provider server error');
  });
  // oidc-provider's typings list each event with its own listener type; these five share one shape.
  const on = provider.on.bind(provider) as (event: string, listener: (ctx: KoaContextWithOIDC, err: OAuthError) => void) => void;
  for (const event of ['grant.error', 'introspection.error', 'revocation.error', 'authorization.error', 'end_session.error']) {
    on(event, (ctx, err) => {
      const log: Logger = ctx.state?.log ?? logger;
      log.info({ event, error: err.message, detail: err.error_detail, client: ctx.oidc?.client?.clientId }, 'oauth error');
    });
  }
}
