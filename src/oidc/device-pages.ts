// oidc-provider's device flow page hooks (features.deviceFlow), rendered with Tollgate's views: the code entry page
// (also shown again with an error), the confirmation page, and the end page. oidc-provider's own forms carry an
// inline script handler, so the pages build their own forms from the same action and CSRF secret.
import type { KoaContextWithOIDC } from 'oidc-provider';

import { confirmDevicePage, deviceDonePage, userCodePage } from '../../views/device.js';
import type { Theme } from '../../views/theme.js';

/** Set on the context when a submitted user code matched no device code: the rate limiter counts these. */
export const USER_CODE_MISS = 'tollgateUserCodeMiss';
/** Set by the /device middleware: a user code from verification_uri_complete, shown in the field (no auto-submit). */
export const USER_CODE_PREFILL = 'tollgateUserCodePrefill';

const MESSAGES: Record<string, string> = {
  NoCodeError: 'Enter the code shown on your device.',
  NotFoundError: 'That code is not valid. Check it and try again.',
  ExpiredError: 'That code has expired. Start again on your device.',
  AlreadyUsedError: 'That code has already been used. Start again on your device.',
  AbortedError: 'The request was cancelled. You can close this page.',
};

const secretOf = (ctx: KoaContextWithOIDC) =>
  String((ctx.oidc.session as unknown as { state?: { secret?: string } }).state?.secret ?? '');

/** The three page hooks of features.deviceFlow, in the brand's look. */
export function devicePageSources(theme: Theme) {
  return {
    async userCodeInputSource(
      ctx: KoaContextWithOIDC,
      _form: string,
      _out?: unknown,
      err?: Error & { userCode?: string },
    ) {
      if (err?.name === 'NotFoundError') (ctx.state as Record<string, unknown>)[USER_CODE_MISS] = true;
      const error = err ? (MESSAGES[err.name] ?? 'Something went wrong. Start again on your device.') : undefined;
      const prefill = (ctx.state as Record<string, unknown>)[USER_CODE_PREFILL];
      ctx.type = 'html';
      ctx.body = userCodePage(theme, {
        action: ctx.oidc.urlFor('code_verification'),
        xsrf: secretOf(ctx),
        userCode: err?.userCode ?? (typeof prefill === 'string' ? prefill : undefined),
        error,
      });
    },

    async userCodeConfirmSource(
      ctx: KoaContextWithOIDC,
      _form: string,
      client: { clientName?: string; clientId: string },
      _deviceInfo: unknown,
      userCode: string,
    ) {
      ctx.type = 'html';
      ctx.body = confirmDevicePage(theme, {
        action: ctx.oidc.urlFor('code_verification'),
        xsrf: secretOf(ctx),
        userCode,
        clientName: client.clientName ?? client.clientId,
      });
    },

    async successSource(ctx: KoaContextWithOIDC) {
      ctx.type = 'html';
      ctx.body = deviceDonePage(theme, { clientName: ctx.oidc.client?.clientName });
    },
  };
}
