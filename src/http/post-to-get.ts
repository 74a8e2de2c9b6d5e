// POST to the authorization and end-session endpoints. OpenID Connect Core §3.1.2.1 and RP-Initiated Logout §2 say
// an OP MUST accept both GET and POST (form-serialized parameters) there. oidc-provider 9 answers POST only when
// its session cookie is SameSite=None (`enableHttpPostMethods`, checked in lib/helpers/configuration.js), which
// browsers refuse without Secure, i.e. on every http:// development issuer, and which would send the session
// cookie along with every cross-site subrequest. Instead, a form POST here is answered with 303 See Other to the
// same endpoint with the same parameters as a query: the browser's next request is a top-level GET, which carries
// the SameSite=Lax session cookie, so a signed-in user is recognised exactly as with GET (prompt=none works).
// Parameters then travel in the URL, as with GET: requests too large for a URL belong in PAR (RFC 9126).
import type { Middleware } from 'koa';

import { PayloadTooLarge } from '../errors.js';
import { readForm } from '../request/body.js';

// The redirect's URL must fit in the request line of the browser's next GET: Node's server refuses request heads
// past 16 KiB (431), and so would many proxies. Bigger requests get a clear 413 here, not a redirect that fails.
const MAX_QUERY_BYTES = 8 * 1024;

export function redirectFormPostsToGet(paths: string[]): Middleware {
  const endpoints = new Set(paths);
  return async function redirectFormPostToGet(ctx, next) {
    if (ctx.method !== 'POST' || !endpoints.has(ctx.path)) return next();
    const form = await readForm(ctx, 64 * 1024); // 415 for anything but a form, 413 past the limit
    const query = form.toString();
    if (Buffer.byteLength(query) > MAX_QUERY_BYTES) {
      throw new PayloadTooLarge(
        `the request's parameters exceed ${MAX_QUERY_BYTES} bytes; send them by pushed authorization request (RFC 9126)`,
      );
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(`${ctx.path}?${query}`);
  };
}
