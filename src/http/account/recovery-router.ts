// /account/forgot, /account/reset and /account/verify: password reset and email verification by mailed links.
// The reset request answers the same page whether or not an account has the address, and sends after answering.
// Requests and resets are rate limited per address and per client IP (when RATE_LIMIT_ENABLED): a flood neither
// fills someone's mailbox nor tries links at speed.
import Router from '@koa/router';
import type { Context } from 'koa';

import { EMAIL } from '../../accounts/accounts.js';
import { selfActor } from '../../accounts/account-sessions.js';
import { TollgateError } from '../../errors.js';
import { readForm, single } from '../../request/body.js';
import { CSRF_FIELD, type Csrf } from '../../request/csrf.js';
import { WindowCounter } from '../../security/rate-limits.js';
import type { ShortLivedStore } from '../../store/types.js';
import { forgotPage, resetPage, verifiedPage } from '../../../views/recovery.js';
import type { Theme } from '../../../views/theme.js';
import { linkUsable } from '../../accounts/links.js';
import { requestPasswordReset, resetPassword, verifyEmail, type RecoveryDeps } from '../../accounts/recovery.js';
import { preSessionBinding } from './router.js';

export interface RecoveryRouterDeps extends RecoveryDeps {
  csrf: Csrf;
  /** Absent when rate limiting is off. */
  limits?: { store: ShortLivedStore; windowSeconds: number } | undefined;
  theme: Theme;
}

export function createRecoveryRouter(deps: RecoveryRouterDeps): Router {
  const { csrf, logger, theme } = deps;
  const router = new Router({ prefix: '/account' });
  const window = deps.limits?.windowSeconds ?? 900;
  const requestsPerIp =
    deps.limits && new WindowCounter(deps.limits.store, 'reset-request-ip', { max: 10, seconds: window });
  const requestsPerEmail =
    deps.limits && new WindowCounter(deps.limits.store, 'reset-request-email', { max: 3, seconds: window });
  const resetsPerIp = deps.limits && new WindowCounter(deps.limits.store, 'reset-ip', { max: 10, seconds: window });

  const page = (ctx: Context, body: string, status = 200) => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body;
  };
  const token = (ctx: Context) => csrf.token(preSessionBinding(ctx, { create: true })!);
  const checkCsrf = (ctx: Context, form: URLSearchParams) =>
    csrf.check(ctx, preSessionBinding(ctx, { create: false }) ?? 'account-pre:none', single(form, CSRF_FIELD));
  const tooMany = (ctx: Context, wait: number) => {
    ctx.set('Retry-After', String(wait));
    return `Too many attempts. Try again in ${Math.ceil(wait / 60)} minutes.`;
  };

  router.get('/forgot', function showForgot(ctx) {
    page(ctx, forgotPage(theme, { csrf: token(ctx) }));
  });

  router.post('/forgot', async function requestReset(ctx) {
    const form = await readForm(ctx);
    checkCsrf(ctx, form);
    const email = (single(form, 'email') ?? '').trim();
    if (!EMAIL.test(email))
      return page(ctx, forgotPage(theme, { csrf: token(ctx), email, error: 'Give a valid email address.' }), 400);
    const wait = await requestsPerIp?.take(ctx.ip);
    if (wait) return page(ctx, forgotPage(theme, { csrf: token(ctx), email, error: tooMany(ctx, wait) }), 429);
    // Past the per-address limit the answer stays the same; only the mail is not sent again.
    const quiet = await requestsPerEmail?.take(email.toLowerCase());
    if (!quiet) {
      const actor = selfActor('password_reset', ctx);
      // After the answer: its timing must not tell whether an account has this address.
      setImmediate(() => {
        requestPasswordReset(deps, email, actor).catch((err: unknown) =>
          logger.warn({ err }, 'password reset mail could not be sent'),
        );
      });
    }
    page(ctx, forgotPage(theme, { csrf: token(ctx), email, sent: true }));
  });

  router.get('/reset', async function showReset(ctx) {
    const value = String(ctx.query.token ?? '');
    page(
      ctx,
      resetPage(theme, { csrf: token(ctx), token: value, usable: await linkUsable(deps, 'password_reset', value) }),
    );
  });

  router.post('/reset', async function reset(ctx) {
    const form = await readForm(ctx);
    checkCsrf(ctx, form);
    const value = single(form, 'token') ?? '';
    const password = single(form, 'new_password') ?? '';
    const wait = await resetsPerIp?.take(ctx.ip);
    if (wait)
      return page(
        ctx,
        resetPage(theme, { csrf: token(ctx), token: value, usable: true, error: tooMany(ctx, wait) }),
        429,
      );
    // A password that would be refused does not use up the link.
    if (password.length < 8 || password.length > 1024) {
      const usable = await linkUsable(deps, 'password_reset', value);
      return page(
        ctx,
        resetPage(theme, {
          csrf: token(ctx),
          token: value,
          usable,
          error: 'The new password must be 8-1024 characters.',
        }),
        400,
      );
    }
    try {
      if (!(await resetPassword(deps, value, password, selfActor('password_reset', ctx)))) {
        return page(ctx, resetPage(theme, { csrf: token(ctx), token: value, usable: false }), 400);
      }
    } catch (err) {
      if (err instanceof TollgateError && err.status < 500)
        return page(ctx, resetPage(theme, { csrf: token(ctx), token: value, usable: false }), err.status);
      throw err;
    }
    ctx.status = 303;
    ctx.redirect('/account/login?notice=password-reset');
  });

  router.get('/verify', async function verify(ctx) {
    const email = await verifyEmail(deps, String(ctx.query.token ?? ''), selfActor('email_link', ctx));
    page(ctx, verifiedPage(theme, { email }), email ? 200 : 400);
  });

  return router;
}
