// The account page (/account) and its sign-in form: server-rendered, plain HTML forms, no script. Every form carries
// the CSRF field (src/request/csrf.ts). Each device is its own small form, so that signing one out needs no script.
import { html, type SafeHtml } from './html.js';
import { csrfField, layout } from './layout.js';
import type { Theme } from './theme.js';
import { signInForm } from './login.js';

export interface AccountDevice {
  id: string;
  application: string;
  device: string;
  ip: string | null;
  createdAt: Date;
  lastUsedAt: Date;
  current: boolean;
}

export interface AccountConsent {
  id: string;
  application: string;
  scopes: string[];
  createdAt: Date;
}

export interface AccountView {
  username: string;
  email: string | null;
  emailVerified: boolean;
  csrf: string;
  devices: AccountDevice[];
  consents: AccountConsent[];
  notice?: string | undefined;
  error?: string | undefined;
}

const when = (d: Date) =>
  html`<time datetime="${d.toISOString()}">${d.toISOString().slice(0, 16).replace('T', ' ')} UTC</time>`;

function device(d: AccountDevice, csrf: string): SafeHtml {
  return html`<li class="card${d.current ? ' current' : ''}">
<form method="post" action="/account">
${csrfField(csrf)}
<input type="hidden" name="device" value="${d.id}">
<h3>${d.device}${d.current ? html` <strong class="badge">This device</strong>` : ''}</h3>
<p>${d.application}</p>
<dl>
<dt>First signed in</dt><dd>${when(d.createdAt)}</dd>
<dt>Last used</dt><dd>${when(d.lastUsedAt)}</dd>
<dt>Address</dt><dd>${d.ip ?? 'unknown'}</dd>
</dl>
<button type="submit" name="action" value="sign-out">Sign out${d.current ? ' here' : ' this device'}</button>
</form>
</li>`;
}

function consent(c: AccountConsent, csrf: string): SafeHtml {
  return html`<li class="card">
<form method="post" action="/account">
${csrfField(csrf)}
<input type="hidden" name="consent" value="${c.id}">
<h3>${c.application}</h3>
<p>Allowed ${when(c.createdAt)}${c.scopes.length ? html`: ${c.scopes.map((s, i) => html`${i ? ', ' : ''}<code>${s}</code>`)}` : ''}</p>
<button type="submit" name="action" value="withdraw-consent">Withdraw access</button>
</form>
</li>`;
}

export function accountPage(theme: Theme, v: AccountView): string {
  return layout(
    theme,
    'Your account',
    html`<h1>Your account</h1>
<p>Signed in as <strong>${v.username}</strong>${v.email ? html` · ${v.email} (${v.emailVerified ? 'verified' : 'not verified'})` : ''}.</p>
${v.notice ? html`<p class="notice" role="status">${v.notice}</p>` : ''}
${v.error ? html`<p class="error" role="alert">${v.error}</p>` : ''}
<section aria-labelledby="devices">
<h2 id="devices">Your devices</h2>
<p>Each sign-in to an application on a device stays signed in until you sign it out here.</p>
<ul class="cards">${v.devices.map((d) => device(d, v.csrf))}</ul>
<form method="post" action="/account">
${csrfField(v.csrf)}
<button type="submit" name="action" value="sign-out-others">Sign out everywhere else</button>
</form>
</section>
<section aria-labelledby="consents">
<h2 id="consents">Applications you allowed</h2>
${v.consents.length ? html`<ul class="cards">${v.consents.map((c) => consent(c, v.csrf))}</ul>` : html`<p>None.</p>`}
</section>
<section aria-labelledby="password">
<h2 id="password">Change your password</h2>
<p>Changing your password signs out all your other devices.</p>
<form method="post" action="/account">
${csrfField(v.csrf)}
<label for="current_password">Current password</label>
<input id="current_password" name="current_password" type="password" autocomplete="current-password" required maxlength="1024">
<label for="new_password">New password (at least 8 characters)</label>
<input id="new_password" name="new_password" type="password" autocomplete="new-password" required minlength="8" maxlength="1024">
<button type="submit" name="action" value="change-password">Change password</button>
</form>
</section>`,
  );
}

export interface AccountLoginView {
  csrf: string;
  username?: string | undefined;
  error?: string | undefined;
  notice?: string | undefined;
}

/** The sign-in form in front of the account page: the fields and look of the applications' sign-in page. */
export function accountLoginPage(theme: Theme, { csrf, username, error, notice }: AccountLoginView): string {
  return layout(
    theme,
    'Sign in',
    html`<h1>Sign in to your account</h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
${signInForm({ action: '/account/login', csrfToken: csrf, username })}`,
  );
}
