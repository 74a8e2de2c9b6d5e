// An authorization code + PKCE flow on Hydra, with the benchmark as the login and consent application: the browser
// is sent to the (unreal) login URL with a login_challenge, which the application accepts through Hydra's admin API
// (subject bench-user); the browser follows the answer's redirect_to back to Hydra and on to the consent URL with a
// consent_challenge, which the application accepts with the scopes asked for; the browser follows again and lands on
// the client's redirect_uri with a code, which the client exchanges with its PKCE verifier. The same authorization
// request as on bare and Tollgate (bench/flow.ts), so each flow is its own grant with its own refresh-token chain.
import { Browser } from '../test/support/browser.js';
import { authorizationRequest, exchangeCode, type Tokens } from './flow.js';
import type { HttpClient } from './http-client.js';
import { adminCall } from './hydra-admin.js';
import type { Target } from './target.js';

/** Follows Hydra's redirects to the first URL off Hydra, and reads `parameter` from it. */
async function redirectedWith(browser: Browser, url: string, parameter: string): Promise<string> {
  const { res, url: landed } = await browser.follow(await browser.get(url));
  await res.arrayBuffer(); // releases the connection
  const value = new URL(landed).searchParams.get(parameter);
  if (!value) {
    const error = new URL(landed).searchParams.get('error_description') ?? new URL(landed).searchParams.get('error');
    throw new Error(
      `hydra: the flow reached ${new URL(landed).origin}${new URL(landed).pathname} (status ${res.status}) without a ${parameter}${error ? `: ${error}` : ''}`,
    );
  }
  return value;
}

export async function hydraCodeFlow(target: Target, admin: string, http: HttpClient): Promise<Tokens> {
  const browser = new Browser(target.url);
  const { params, verifier } = authorizationRequest(target);
  const login = await redirectedWith(browser, `${target.url}/oauth2/auth?${params}`, 'login_challenge');
  const afterLogin = await adminCall(
    admin,
    'PUT',
    `/admin/oauth2/auth/requests/login/accept?login_challenge=${encodeURIComponent(login)}`,
    {
      subject: target.user.username,
      remember: false,
    },
  );
  const consent = await redirectedWith(browser, String(afterLogin.redirect_to), 'consent_challenge');
  const afterConsent = await adminCall(
    admin,
    'PUT',
    `/admin/oauth2/auth/requests/consent/accept?consent_challenge=${encodeURIComponent(consent)}`,
    {
      grant_scope: params.get('scope')!.split(' '),
      remember: false,
    },
  );
  const code = await redirectedWith(browser, String(afterConsent.redirect_to), 'code');
  return exchangeCode(target, http, { code, verifier });
}
