// Rate limits that hold across instances (counters in Redis, or in-process when embedded):
//   - volume per IP on the token, introspection and revocation endpoints (koa-ratelimit);
//   - volume per *authenticated* client: counted after oidc-provider has authenticated it, so nobody can spend
//     another client's budget by naming it;
//   - failures per IP (failed client authentication, invalid_grant): strict, since guessing shows up as failures
//     while legitimate high volume does not;
//   - login failures per username and per IP.
// A limited request gets 429, Retry-After and an RFC 6749-shaped JSON error (or the login page again).
import type { Context, Middleware } from 'koa';
import ratelimit from 'koa-ratelimit';

import type { Config } from '../config.js';
import { TooManyRequests } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { ShortLivedStore } from '../store/types.js';

// /reg: registrations, and guessed initial access tokens (401s) count as failures. /device/auth: device flow starts.
export const LIMITED_PATHS = new Set(['/token', '/token/introspection', '/token/revocation', '/reg', '/device/auth']);

interface Window {
  max: number;
  seconds: number;
}

/** Counts events in fixed windows; once a key reaches `max`, it is blocked until its window ends. */
export class WindowCounter {
  constructor(private readonly store: ShortLivedStore, private readonly name: string, private readonly window: Window) {}

  #blockKey = (key: string) => `rl:${this.name}:block:${key}`;

  /** Seconds until `key` may try again, or undefined when it may now. */
  async blockedFor(...keys: string[]): Promise<number | undefined> {
    const until = await this.store.getMany(keys.map(this.#blockKey));
    const latest = Math.max(0, ...until.map((v) => Number(v ?? 0)));
    return latest > Date.now() ? Math.max(1, Math.ceil((latest - Date.now()) / 1000)) : undefined;
  }

  async record(key: string): Promise<void> {
    const { count, resetMs } = await this.store.increment(`rl:${this.name}:count:${key}`, this.window.seconds);
    if (count >= this.window.max) {
      await this.store.set(this.#blockKey(key), String(Date.now() + resetMs), Math.max(1, resetMs / 1000));
    }
  }
}

/** The client id a request claims (Basic credentials or the form's client_id is not read here): unverified. */
function claimedClientId(ctx: Context): string | undefined {
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(ctx.get('authorization'))?.[1];
  if (!basic) return undefined;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  try {
    return colon > 0 ? decodeURIComponent(decoded.slice(0, colon)) : undefined;
  } catch {
    return undefined;
  }
}

const isFailure = (ctx: Context) => {
  if (ctx.status === 401) return true;
  const error = (ctx.body as { error?: string } | undefined)?.error;
  return ctx.status === 400 && (error === 'invalid_grant' || error === 'invalid_client');
};

function limited(metrics: Pick<Metrics, 'rateLimited'>, limiter: string, retryAfter: number): never {
  metrics.rateLimited(limiter);
  throw Object.assign(new TooManyRequests(`too many requests; retry in ${retryAfter} s`), { headers: { 'Retry-After': String(retryAfter) } });
}

export function endpointLimits(deps: { store: ShortLivedStore; config: Config; metrics: Pick<Metrics, 'rateLimited'> }): Middleware {
  const { store, config, metrics } = deps;
  const perMinute = config.rateLimits.requestsPerMinute;
  const perIp = ratelimit({
    ...(store.rateLimitDb as { driver: 'redis'; db: never }), // the memory driver takes a Map the same way
    duration: 60_000,
    max: perMinute,
    id: (ctx) => `ip:${ctx.ip}`,
    disableHeader: true,
    throw: true,
    errorMessage: 'too many requests from this address; retry later',
    onLimited: () => metrics.rateLimited('ip'),
  } as Parameters<typeof ratelimit>[0]);
  const failures = new WindowCounter(store, 'fail', { max: config.rateLimits.failures, seconds: config.rateLimits.failureWindowSeconds });
  const clients = new WindowCounter(store, 'client', { max: config.rateLimits.clientRequestsPerMinute, seconds: 60 });

  return async (ctx, next) => {
    if (ctx.method !== 'POST' || !LIMITED_PATHS.has(ctx.path)) return next();
    const failedFor = await failures.blockedFor(`ip:${ctx.ip}`);
    if (failedFor) limited(metrics, 'failures', failedFor);
    const claimed = claimedClientId(ctx);
    const clientFor = claimed ? await clients.blockedFor(claimed) : undefined;
    if (clientFor) limited(metrics, 'client', clientFor);
    await perIp(ctx, async () => {
      await next();
    });
    const authenticated = (ctx as { oidc?: { client?: { clientId: string } } }).oidc?.client?.clientId;
    if (isFailure(ctx)) await failures.record(`ip:${ctx.ip}`);
    else if (authenticated) await clients.record(authenticated);
  };
}

/** Login attempts: failures per username and per IP. */
export function createLoginLimiter(store: ShortLivedStore, config: Config, metrics: Pick<Metrics, 'rateLimited'>) {
  const window = { seconds: config.rateLimits.loginWindowSeconds };
  const byUser = new WindowCounter(store, 'login-user', { ...window, max: config.rateLimits.loginFailuresPerUsername });
  const byIp = new WindowCounter(store, 'login-ip', { ...window, max: config.rateLimits.loginFailuresPerIp });
  const userKey = (username: string) => username.toLowerCase().slice(0, 64);
  return {
    async blockedFor(username: string, ip: string): Promise<number | undefined> {
      const [user, address] = await Promise.all([byUser.blockedFor(userKey(username)), byIp.blockedFor(ip)]);
      const wait = Math.max(user ?? 0, address ?? 0);
      if (wait) metrics.rateLimited('login');
      return wait || undefined;
    },
    async failed(username: string, ip: string): Promise<void> {
      await Promise.all([byUser.record(userKey(username)), byIp.record(ip)]);
    },
  };
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>;
