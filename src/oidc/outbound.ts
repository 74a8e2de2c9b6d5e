// Requests Tollgate makes to URLs that clients registered (a client's jwks_uri, its backchannel_logout_uri).
// oidc-provider refuses to connect to loopback, private and other special-use addresses (server-side request
// forgery). The one exception (DESIGN.md, "Protocol surface"): outside production, with a loopback issuer, targets
// on loopback are allowed, so that local development and the tests can run receivers on 127.0.0.1. In production
// they stay refused whatever the issuer.
import type { Config } from '../config.js';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const LOOPBACK_ISSUER = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(\/|$)/;

export const isLoopbackUrl = (url: URL) => LOOPBACK_HOSTS.has(url.hostname);

/** Whether this deployment may call loopback targets (development and tests only). */
export const loopbackTargetsAllowed = (config: Pick<Config, 'env' | 'issuer'>) =>
  config.env !== 'production' && LOOPBACK_ISSUER.test(config.issuer);

/** Is `url` a target this deployment may call over plain http (never in production)? */
export const allowsInsecureTarget = (config: Pick<Config, 'env' | 'issuer'>) => (url: URL) =>
  loopbackTargetsAllowed(config) && url.protocol === 'http:' && isLoopbackUrl(url);

type Fetch = (url: string, options: RequestInit & { dispatcher?: unknown }) => Promise<Response>;

/**
 * oidc-provider's `fetch` option. It hands every request a dispatcher that drops connections to special-use
 * addresses; for an allowed loopback target that dispatcher is left out, for anything else it stays.
 */
export function createOutboundFetch(config: Pick<Config, 'env' | 'issuer'>): Fetch {
  const allowed = loopbackTargetsAllowed(config);
  return (url, options) => {
    if (allowed && isLoopbackUrl(new URL(url))) {
      const { dispatcher: _special, ...rest } = options;
      return globalThis.fetch(url, rest);
    }
    return globalThis.fetch(url, options as RequestInit);
  };
}
