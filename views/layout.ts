import { html, SafeHtml } from './html.js';
import type { Theme } from './theme.js';

/**
 * Every page: the brand's header (logo and name), the page in one card, one inline style (allowed by its hash, see
 * views/theme.ts) and no script, so the Content-Security-Policy stays strict. The logo's alt text is empty because
 * the name stands next to it.
 */
export function layout(theme: Theme, title: string, body: SafeHtml): string {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · ${theme.name}</title>
<style>${new SafeHtml(theme.css)}</style>
</head>
<body>
<header class="brand"><div>${theme.logoUrl ? html`<img src="${theme.logoUrl}" alt="" height="32">` : ''}<span>${theme.name}</span></div></header>
<main>
${body}
</main>
</body>
</html>`.value;
}

/** The hidden field carrying a form's CSRF token (checked by src/request/csrf.ts). */
export const csrfField = (token: string) => html`<input type="hidden" name="csrf_token" value="${token}">`;
