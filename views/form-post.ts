import { createHash } from 'node:crypto';

import { html, SafeHtml } from './html.js';
import { layout } from './layout.js';
import type { Theme } from './theme.js';

// The one script any Tollgate page runs: the form_post response page submits itself. It is allowed by its hash
// (src/http/security-headers.ts adds it to that page's Content-Security-Policy only), never by 'unsafe-inline'.
const SCRIPT = 'document.forms[0].submit();';
export const FORM_POST_SCRIPT_HASH = `'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'`;

/**
 * OAuth 2.0 Form Post Response Mode §2: the authorization response as an auto-submitting form to the client's
 * redirect URI. Without JavaScript the visible button does the same.
 */
export function formPostPage(
  theme: Theme,
  { action, fields }: { action: string; fields: Record<string, string> },
): string {
  return layout(
    theme,
    'Continue',
    html`<h1>Returning you to the application</h1>
<form method="post" action="${action}">
${Object.entries(fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<button type="submit" autofocus>Continue</button>
</form>
<script>${new SafeHtml(SCRIPT)}</script>`,
  );
}
