import { html } from './html.js';
import { csrfField, layout } from './layout.js';
import type { Theme } from './theme.js';

/** An API the client asks for, by name, with the scopes asked and their descriptions (as the API defines them). */
export interface ConsentApi {
  name: string;
  identifier: string;
  scopes: { name: string; description?: string | undefined }[];
}

export interface ConsentView {
  action: string;
  /** The form's CSRF token (src/request/csrf.ts), sent back in a hidden field. */
  csrfToken: string;
  clientName: string;
  username: string;
  /** Built-in (OpenID Connect) scopes. */
  scopes: string[];
  apis?: ConsentApi[];
}

const DESCRIPTIONS: Record<string, string> = {
  openid: 'Confirm who you are',
  profile: 'See your username',
  email: 'See your email address',
  offline_access: 'Stay signed in on this device (refresh tokens)',
};

export function consentPage(
  theme: Theme,
  { action, csrfToken, clientName, username, scopes, apis = [] }: ConsentView,
): string {
  return layout(
    theme,
    'Authorize',
    html`<h1>${clientName} wants access to your account</h1>
<p>Signed in as <strong>${username}</strong>.</p>
${scopes.length ? html`<ul>${scopes.map((s) => html`<li>${DESCRIPTIONS[s] ?? s} <code>${s}</code></li>`)}</ul>` : ''}
${apis.map(
  (api) => html`<h2>${api.name}</h2>
<p>Access to <code>${api.identifier}</code>:</p>
<ul>${api.scopes.map((s) => html`<li>${s.description ?? s.name} <code>${s.name}</code></li>`)}</ul>`,
)}
<form method="post" action="${action}">
${csrfField(csrfToken)}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
  );
}
