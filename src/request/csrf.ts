// Cross-site request forgery defence for Tollgate's own HTML forms (sign-in, consent, and any later page with a
// form, such as an account page). Two independent checks, so that neither SameSite cookies alone nor one browser
// signal alone carries the weight:
//   1. a token in a hidden field, HMAC-SHA256 of what the form acts on (an interaction uid, a session id) under a
//      key derived for this purpose only: a page on another site cannot read it, and it is worthless for any other
//      interaction or session (OWASP's "HMAC based token pattern"; stateless, nothing to store);
//   2. the request's origin: `Sec-Fetch-Site`, then `Origin` (then `Referer`) must name this server. Pages are
//      served with `Referrer-Policy: same-origin`, so a same-origin form post carries its real `Origin` (under
//      `no-referrer` browsers send `Origin: null`, which is refused here).
import { createHmac } from 'node:crypto';

import type { Context } from 'koa';

import { constantTimeEqual } from '../crypto/token-hash.js';
import { CsrfRejected } from '../errors.js';

/** The hidden form field that carries the token. */
export const CSRF_FIELD = 'csrf_token';

export interface Csrf {
  /** The token for a form acting on `binding` (e.g. `interaction:<uid>`, `account:<session id>`). */
  token(binding: string): string;
  /**
   * Throws CsrfRejected (403) unless the request comes from this server's own pages and `presented` is the token
   * for `binding`.
   */
  check(ctx: Context, binding: string, presented: string | undefined): void;
}

/** `origin`: this server's public origin (the issuer's). */
export function createCsrf(key: Buffer, origin: string): Csrf {
  const token = (binding: string) => createHmac('sha256', key).update(binding).digest('base64url');
  return {
    token,
    check(ctx, binding, presented) {
      if (!fromOrigin(ctx, origin)) throw new CsrfRejected('the form was not submitted from this site');
      if (typeof presented !== 'string' || !constantTimeEqual(presented, token(binding))) {
        throw new CsrfRejected('the form has expired or was not served by this site: go back and try again');
      }
    },
  };
}

/**
 * True when the browser says the request comes from `origin`. Without any of these headers the request is not a
 * browser's form post (or a very old browser's), and the token alone decides.
 */
export function fromOrigin(ctx: Context, origin: string): boolean {
  const site = ctx.get('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') return false; // cross-site, and same-site siblings too
  const claimed = ctx.get('origin');
  if (claimed) return claimed === origin; // 'null' (sandboxed frames, privacy-sensitive contexts) never matches
  const referer = ctx.get('referer');
  if (referer) {
    try {
      return new URL(referer).origin === origin;
    } catch {
      return false;
    }
  }
  return true;
}
