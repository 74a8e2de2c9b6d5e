// Requests Tollgate makes to URLs that clients registered (a client's jwks_uri, its backchannel_logout_uri).
// oidc-provider refuses to connect to loopback, private and other special-use addresses (server-side request
// forgery). The one exception (README, "Outbound requests"): outside production, with a loopback issuer, targets
// on loopback are allowed, so that local development and the tests can run receivers on 127.0.0.1. In production
// they stay refused whatever the issuer.
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

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

// Special-use address ranges (RFC 6890 and successors): loopback, private, link-local, CGNAT, documentation,
// benchmarking, multicast, reserved, and their IPv6 counterparts.
const SPECIAL_USE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  SPECIAL_USE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 127],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  SPECIAL_USE.addSubnet(net, bits, 'ipv6');
}

function isSpecialUse(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return SPECIAL_USE.check(mapped, 'ipv4');
  return SPECIAL_USE.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/** Refuses a target whose host is, or resolves to, a special-use address. */
async function refuseSpecialUse(url: URL): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  if (addresses.some(isSpecialUse))
    throw new Error(`outbound request to ${url.host} refused: it resolves to a special-use address`);
}

/**
 * oidc-provider's `fetch` option. oidc-provider hands every request a dispatcher that drops connections to
 * special-use addresses, when it can make one (not in every runtime); the host is checked here too, before
 * connecting. For an allowed loopback target (development) both are left out.
 */
export function createOutboundFetch(config: Pick<Config, 'env' | 'issuer'>): Fetch {
  const allowed = loopbackTargetsAllowed(config);
  return async (url, options) => {
    const target = new URL(url);
    if (allowed && isLoopbackUrl(target)) {
      const { dispatcher: _special, ...rest } = options;
      return globalThis.fetch(url, rest);
    }
    await refuseSpecialUse(target);
    return globalThis.fetch(url, options as RequestInit);
  };
}
