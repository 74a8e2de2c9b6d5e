// The device flow's pages (RFC 8628 §3.3), in the sign-in look: enter the code shown on the device, confirm the
// device, and the end page. Plain forms, no script; oidc-provider's CSRF token travels as the hidden `xsrf` field.
import { html } from './html.js';
import { layout } from './layout.js';
import type { Theme } from './theme.js';

export interface UserCodeView {
  action: string;
  xsrf: string;
  userCode?: string | undefined;
  error?: string | undefined;
}

export function userCodePage(theme: Theme, { action, xsrf, userCode, error }: UserCodeView): string {
  return layout(
    theme,
    'Connect a device',
    html`<h1>Connect a device</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : html`<p>Enter the code shown on your device.</p>`}
<form method="post" action="${action}" autocomplete="off">
<input type="hidden" name="xsrf" value="${xsrf}">
<label for="user_code">Code</label>
<input id="user_code" name="user_code" required maxlength="32" value="${userCode ?? ''}" autofocus autocapitalize="characters" spellcheck="false">
<button type="submit">Continue</button>
</form>`,
  );
}

export interface ConfirmDeviceView {
  action: string;
  xsrf: string;
  userCode: string;
  clientName: string;
}

export function confirmDevicePage(theme: Theme, { action, xsrf, userCode, clientName }: ConfirmDeviceView): string {
  return layout(
    theme,
    'Confirm the device',
    html`<h1>Connect ${clientName}?</h1>
<p>Check that your device shows this code:</p>
<p class="user-code"><code>${userCode}</code></p>
<p>If you did not start this on a device of yours, or the code differs, cancel.</p>
<form method="post" action="${action}">
<input type="hidden" name="xsrf" value="${xsrf}">
<input type="hidden" name="user_code" value="${userCode}">
<button type="submit" name="confirm" value="yes">Continue</button>
<button type="submit" name="abort" value="yes">Cancel</button>
</form>`,
  );
}

export function deviceDonePage(theme: Theme, { clientName }: { clientName?: string | undefined }): string {
  return layout(
    theme,
    'Device connected',
    html`<h1>Your device is connected${clientName ? html` to ${clientName}` : ''}.</h1>
<p>You can close this page and return to your device.</p>`,
  );
}
