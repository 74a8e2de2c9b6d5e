// What Tollgate adds around oidc-provider's device flow endpoints (RFC 8628):
//   - POST /device/auth: the response names the polling interval (§3.2) that the device_code grant enforces;
//   - GET /device?user_code=…: verification_uri_complete fills the code in (oidc-provider would auto-submit it with
//     a script, which the pages' Content-Security-Policy forbids; the person confirms on the next page anyway);
//   - POST /device: wrong user codes count as failures per address, and too many answer 429 (§5.1: user codes are
//     short enough to be guessed without a limit).
import type { Middleware } from 'koa';

import type { Config } from '../config.js';
import { TooManyRequests } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { RateWindow, ShortLivedStore } from '../store/types.js';
import { USER_CODE_MISS, USER_CODE_PREFILL } from './device-pages.js';
import { POLL_INTERVAL_SECONDS } from './grants/device-code.js';

export const isDevicePath = (path: string) => path === '/device' || path === '/device/auth';

export interface DeviceRoutesDeps {
  store: ShortLivedStore;
  config: Config;
  metrics: Pick<Metrics, 'rateLimited'>;
}

export function deviceRoutes({ store, config, metrics }: DeviceRoutesDeps): Middleware {
  // A submitted code holds a place in its address's window while it is looked up, and keeps it only if it matched
  // nothing (src/security/rate-limits.ts): a parallel burst gets no more codes tried than the limit.
  const missWindow = (ip: string): RateWindow => ({
    key: `rl:device-user-code:${ip}`,
    max: config.rateLimits.loginFailuresPerIp,
    ttlSeconds: config.rateLimits.loginWindowSeconds,
  });
  const misses = config.rateLimitEnabled ? missWindow : undefined;

  return async function deviceRoutes(ctx, next) {
    if (ctx.path === '/device/auth') {
      await next();
      const body = ctx.body as Record<string, unknown> | undefined;
      if (ctx.status === 200 && body && typeof body.device_code === 'string') body.interval = POLL_INTERVAL_SECONDS;
      return;
    }
    if (ctx.method === 'GET' && typeof ctx.query.user_code === 'string') {
      (ctx.state as Record<string, unknown>)[USER_CODE_PREFILL] = ctx.query.user_code.slice(0, 32);
      ctx.querystring = '';
    }
    if (ctx.method !== 'POST' || !misses) return next();
    const window = misses(ctx.ip);
    const place = await store.reserve([window]);
    if (!place.allowed) {
      const wait = Math.max(1, Math.ceil(place.retryAfterMs / 1000));
      metrics.rateLimited('device_user_code');
      throw Object.assign(new TooManyRequests(`too many wrong codes; retry in ${wait} s`), {
        headers: { 'Retry-After': String(wait) },
      });
    }
    try {
      await next();
    } catch (err) {
      await store.release([window.key]).catch(() => {});
      throw err;
    }
    if (!(ctx.state as Record<string, unknown>)[USER_CODE_MISS]) await store.release([window.key]);
  };
}
