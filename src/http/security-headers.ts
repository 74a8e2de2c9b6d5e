// Response headers every answer carries, and the stricter set for HTML pages: no other script may run, the page may not
// be framed (clickjacking the consent button), the one inline style (the brand's, views/theme.ts) is allowed by its
// hash only, images come from this server or the brand logo's origin only; the one page with a script (form_post)
// gets that script allowed by its hash, on that page only.
import type { Middleware } from 'koa';

import { allowedScriptHashes } from '../request/csp.js';

import type { Theme } from '../../views/theme.js';

const pageCsp = (theme: Theme) =>
  [
    "default-src 'none'",
    `style-src ${theme.styleHash}`,
    `img-src ${theme.imgSrc}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');

/** What `ctx.response.is('html')` answers, without parsing the media type on every response. */
const HTML = /^\s*text\/html\s*(;|$)/i;

export function securityHeaders({ hsts, theme }: { hsts: boolean; theme: Theme }): Middleware {
  const PAGE_CSP = pageCsp(theme);
  return async (ctx, next) => {
    try {
      await next();
    } finally {
      ctx.set('X-Content-Type-Options', 'nosniff');
      // same-origin rather than no-referrer: nothing leaks to other sites either way, but under no-referrer a
      // browser's form post says `Origin: null`, and the forms' CSRF check (src/request/csrf.ts) needs the real one.
      ctx.set('Referrer-Policy', 'same-origin');
      if (hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
      // RFC 6749 §5.1: token responses carry Pragma: no-cache besides Cache-Control: no-store (HTTP/1.0 caches);
      // so does every other response that must not be stored.
      if (ctx.response.get('Cache-Control') === 'no-store') ctx.set('Pragma', 'no-cache');
      if (HTML.test(String(ctx.response.get('Content-Type')))) {
        const scripts = allowedScriptHashes(ctx);
        ctx.set('Content-Security-Policy', scripts.length ? `${PAGE_CSP}; script-src ${scripts.join(' ')}` : PAGE_CSP);
        ctx.set('X-Frame-Options', 'DENY');
      }
    }
  };
}
