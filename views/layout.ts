import { createHash } from 'node:crypto';

import { html, SafeHtml } from './html.js';

const STYLE = `body{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .3rem}input{width:100%;padding:.5rem;box-sizing:border-box}
button{margin:1rem .5rem 0 0;padding:.5rem 1rem}.error{color:#a30000}ul{padding-left:1.2rem}code{word-break:break-all}`;

/** Pages carry no script and one inline style, allowed by its hash: the Content-Security-Policy can stay strict. */
export const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

export function layout(title: string, body: SafeHtml): string {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · Tollgate</title>
<style>${new SafeHtml(STYLE)}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`.value;
}

/** The hidden field carrying a form's CSRF token (checked by src/request/csrf.ts). */
export const csrfField = (token: string) => html`<input type="hidden" name="csrf_token" value="${token}">`;
