// response_mode=form_post (OAuth 2.0 Form Post Response Mode). oidc-provider's own page adds its script's hash to
// a Content-Security-Policy only if one is already set when it renders, and Tollgate's pages set theirs afterwards
// (src/http/security-headers.ts) with no script allowed at all, so its auto-submit was blocked. This page is
// Tollgate's: escaped like every other page, a visible button for browsers without JavaScript, and its one script
// allowed by hash on this page only.
import type { KoaContextWithOIDC } from 'oidc-provider';

import { allowScriptHash } from '../request/csp.js';
import { FORM_POST_SCRIPT_HASH, formPostPage } from '../../views/form-post.js';
import type { Theme } from '../../views/theme.js';

export const formPostRenderer =
  (theme: Theme) =>
  (ctx: KoaContextWithOIDC, redirectUri: string, params: Record<string, unknown>): void => {
    const fields = Object.fromEntries(
      Object.entries(params)
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k, v]) => [k, String(v)]),
    );
    // As oidc-provider: an error response is a 400 page, a success a 200 one (unless a status was already chosen).
    if (![200, 400, 500].includes(ctx.status)) ctx.status = 'error' in fields ? 400 : 200;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    allowScriptHash(ctx, FORM_POST_SCRIPT_HASH);
    ctx.body = formPostPage(theme, { action: redirectUri, fields });
  };
