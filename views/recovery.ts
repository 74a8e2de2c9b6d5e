// The password reset pages (request a link, choose a new password) and the email verification answer, in the look
// of the sign-in page. Plain forms, no script, every value escaped.
import { html } from './html.js';
import { csrfField, layout } from './layout.js';
import type { Theme } from './theme.js';

export function forgotPage(
  theme: Theme,
  {
    csrf,
    email,
    sent,
    error,
  }: { csrf: string; email?: string | undefined; sent?: boolean; error?: string | undefined },
): string {
  return layout(
    theme,
    'Forgot your password',
    html`<h1>Forgot your password?</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
${
  sent
    ? html`<p class="notice" role="status">If an account has the address ${email ?? ''}, a link to choose a new password is on its way to it. The link works once, for 30 minutes.</p>`
    : html`<p>Give the email address of your account; we send a link to choose a new password.</p>`
}
<form method="post" action="/account/forgot">
${csrfField(csrf)}
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="email" required maxlength="320" value="${email ?? ''}"${sent ? '' : ' autofocus'}>
<button type="submit">Send the link</button>
</form>
<p><a href="/account/login">Back to sign-in</a></p>`,
  );
}

export function resetPage(
  theme: Theme,
  { csrf, token, usable, error }: { csrf: string; token: string; usable: boolean; error?: string | undefined },
): string {
  if (!usable) {
    return layout(
      theme,
      'Link expired',
      html`<h1>This link no longer works</h1>
<p>A password reset link works once, for 30 minutes.</p>
<p><a href="/account/forgot">Ask for a new link</a></p>`,
    );
  }
  return layout(
    theme,
    'Choose a new password',
    html`<h1>Choose a new password</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<p>Afterwards every device signed in to your account is signed out.</p>
<form method="post" action="/account/reset">
${csrfField(csrf)}
<input type="hidden" name="token" value="${token}">
<label for="new_password">New password (at least 8 characters)</label>
<input id="new_password" name="new_password" type="password" autocomplete="new-password" required minlength="8" maxlength="1024" autofocus>
<button type="submit">Set the new password</button>
</form>`,
  );
}

export function verifiedPage(theme: Theme, { email }: { email: string | undefined }): string {
  return layout(
    theme,
    email ? 'Email address verified' : 'Link expired',
    email
      ? html`<h1>Thank you</h1>
<p class="notice" role="status">Your email address ${email} is verified.</p>
<p><a href="/account">Your account</a></p>`
      : html`<h1>This link no longer works</h1>
<p>It was used already, it expired, or the account's address changed since it was sent.</p>`,
  );
}
