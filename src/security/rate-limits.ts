// Rate limits that hold across instances (counters in Redis, or in-process when embedded):
//   - volume per IP on the token, introspection, revocation and PAR endpoints (koa-ratelimit);
//   - volume per *authenticated* client: counted after oidc-provider has authenticated it, so nobody can spend
//     another client's budget by naming it;
//   - failures per IP (failed client authentication, invalid_grant): strict, since guessing shows up as failures
//     while legitimate high volume does not;
//   - sign-in attempts per username and address, per address, and per username overall.
// Failures and sign-ins are counted BEFORE the work, not after: each request first reserves its place in its
// windows, in one atomic store operation (ShortLivedStore.reserve), and gives it back when it turns out not to
// count (a successful authentication). Counting after the work let a burst of parallel requests all pass the check
// before any was counted; reserving first, however many race, at most the limit is ever evaluated per window.
// A limited request gets 429, Retry-After and an RFC 6749-shaped JSON error (or the login page again).
import type { Context, Middleware } from 'koa';
import ratelimit from 'koa-ratelimit';

import type { Config } from '../config.js';
import { TooManyRequests } from '../errors.js';
import type { Metrics } from '../observability/metrics.js';
import type { RateWindow, ShortLivedStore } from '../store/types.js';

// Every endpoint that authenticates clients (PAR and device flow starts too), and /reg, where registrations and
// guessed initial access tokens (401s) count as failures.
export const LIMITED_PATHS = new Set([
  '/token',
  '/token/introspection',
  '/token/revocation',
  '/request',
  '/reg',
  '/device/auth',
]);

interface Window {
  max: number;
  seconds: number;
}

/** Counts events in fixed windows; once a key reaches `max`, it is blocked until its window ends. */
export class WindowCounter {
  constructor(
    private readonly store: ShortLivedStore,
    private readonly name: string,
    private readonly window: Window,
  ) {}

  #blockKey = (key: string) => `rl:${this.name}:block:${key}`;

  /** Seconds until `key` may try again, or undefined when it may now. */
  async blockedFor(...keys: string[]): Promise<number | undefined> {
    const until = await this.store.getMany(keys.map(this.#blockKey));
    const latest = Math.max(0, ...until.map((v) => Number(v ?? 0)));
    return latest > Date.now() ? Math.max(1, Math.ceil((latest - Date.now()) / 1000)) : undefined;
  }

  /**
   * Counts one attempt and answers, in the same step, whether it was within the limit (seconds to wait when not). One
   * atomic increment decides, so a parallel burst cannot all pass a check made before any of them was counted.
   */
  async take(key: string): Promise<number | undefined> {
    const { count, resetMs } = await this.store.increment(`rl:${this.name}:count:${key}`, this.window.seconds);
    return count > this.window.max ? Math.max(1, Math.ceil(resetMs / 1000)) : undefined;
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
  throw Object.assign(new TooManyRequests(`too many requests; retry in ${retryAfter} s`), {
    headers: { 'Retry-After': String(retryAfter) },
  });
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export function endpointLimits(deps: {
  store: ShortLivedStore;
  config: Config;
  metrics: Pick<Metrics, 'rateLimited'>;
}): Middleware {
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
  const failureWindow = (ip: string): RateWindow => ({
    key: `rl:fail:ip:${ip}`,
    max: config.rateLimits.failures,
    ttlSeconds: config.rateLimits.failureWindowSeconds,
  });
  const clients = new WindowCounter(store, 'client', { max: config.rateLimits.clientRequestsPerMinute, seconds: 60 });

  return async (ctx, next) => {
    if (ctx.method !== 'POST' || !LIMITED_PATHS.has(ctx.path)) return next();
    const claimed = claimedClientId(ctx);
    const clientFor = claimed ? await clients.blockedFor(claimed) : undefined;
    if (clientFor) limited(metrics, 'client', clientFor);
    // Any request here may turn out a failed authentication or a bad grant: it holds a place in its address's
    // failure window while it is evaluated, and keeps it only if it failed. So a burst gets at most the limit of
    // failures evaluated; the rest are refused before any secret is compared. (A consequence, documented: one
    // address has at most RATE_LIMIT_FAILURES requests in flight here at once, besides its failures.)
    const window = failureWindow(ctx.ip);
    const place = await store.reserve([window]);
    if (!place.allowed) limited(metrics, 'failures', seconds(place.retryAfterMs));
    try {
      await perIp(ctx, async () => {
        await next();
      });
    } catch (err) {
      await store.release([window.key]).catch(() => {}); // refused or failed on our side: not a failure of the client's
      throw err;
    }
    if (!isFailure(ctx)) await store.release([window.key]);
    const authenticated = (ctx as { oidc?: { client?: { clientId: string } } }).oidc?.client?.clientId;
    if (!isFailure(ctx) && authenticated) await clients.record(authenticated);
  };
}

export interface LoginReservation {
  /** Seconds to wait when refused; undefined when this attempt may be checked. */
  retryAfter: number | undefined;
  /** Gives the places back: the attempt succeeded, so it does not count against anyone. */
  release(): Promise<void>;
}

/**
 * Sign-in attempts, reserved before the password is hashed, in three windows at once:
 *   - username from this address (LOGIN_FAILURES_PER_USERNAME): the guessing limit, which locks out only the
 *     address doing the guessing, never the owner elsewhere;
 *   - this address, whatever the usernames (LOGIN_FAILURES_PER_IP): spraying one password over many accounts;
 *   - username from every address (LOGIN_FAILURES_PER_USERNAME_TOTAL): distributed guessing. A browser that has
 *     signed in as that user before (`knownDevice`) does not count against it, so the owner still gets in.
 */
export function createLoginLimiter(store: ShortLivedStore, config: Config, metrics: Pick<Metrics, 'rateLimited'>) {
  const {
    loginWindowSeconds: ttlSeconds,
    loginFailuresPerUsername,
    loginFailuresPerIp,
    loginFailuresPerUsernameTotal,
  } = config.rateLimits;
  const userKey = (username: string) => username.toLowerCase().slice(0, 64);
  return {
    async reserve(username: string, ip: string, knownDevice: boolean): Promise<LoginReservation> {
      const user = userKey(username);
      const windows: RateWindow[] = [
        { key: `rl:login-pair:${ip}:${user}`, max: loginFailuresPerUsername, ttlSeconds },
        { key: `rl:login-ip:${ip}`, max: loginFailuresPerIp, ttlSeconds },
        ...(knownDevice ? [] : [{ key: `rl:login-user:${user}`, max: loginFailuresPerUsernameTotal, ttlSeconds }]),
      ];
      const place = await store.reserve(windows);
      if (!place.allowed) metrics.rateLimited('login');
      return {
        retryAfter: place.allowed ? undefined : seconds(place.retryAfterMs),
        release: () => (place.allowed ? store.release(windows.map((w) => w.key)) : Promise.resolve()),
      };
    },
  };
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>;
