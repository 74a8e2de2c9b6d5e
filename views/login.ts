import { html } from './html.js';
import { csrfField, layout } from './layout.js';
import type { Theme } from './theme.js';

export interface LoginView {
  action: string;
  /** The form's CSRF token (src/request/csrf.ts), sent back in a hidden field. */
  csrfToken: string;
  clientName: string;
  username?: string;
  error?: string;
}

/**
 * The sign-in form itself, the same wherever a person signs in (an application's interaction, the account page):
 * one set of fields, names, limits and autocomplete hints, and the way to a forgotten password.
 */
export function signInForm({
  action,
  csrfToken,
  username,
}: {
  action: string;
  csrfToken: string;
  username?: string | undefined;
}) {
  return html`<form method="post" action="${action}" autocomplete="on">
${csrfField(csrfToken)}
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required maxlength="64" value="${username ?? ''}" autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<button type="submit">Sign in</button>
</form>
<p><a href="/account/forgot">Forgot your password?</a></p>`;
}

export function loginPage(theme: Theme, { action, csrfToken, clientName, username, error }: LoginView): string {
  return layout(
    theme,
    'Sign in',
    html`<h1>Sign in to continue to ${clientName}</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
${signInForm({ action, csrfToken, username })}`,
  );
}
