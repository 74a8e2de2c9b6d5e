// /account: the user's own page — their devices, the consents they gave, their password — behind Tollgate's own
// sign-in (src/accounts/account-sessions.ts). Every form posts to /account with an `action` and the CSRF field; each change
// is redirected back to the page with a notice (post/redirect/get), so that reloading never repeats it.
import { randomBytes } from 'node:crypto';

import Router from '@koa/router';
import type { Context } from 'koa';

import { findAccountById } from '../../accounts/account-queries.js';
import { authenticate } from '../../accounts/accounts.js';
import { setPassword, signOutOthers, type LifecycleDeps } from '../../accounts/lifecycle.js';
import { verifyPassword } from '../../accounts/passwords.js';
import { eventBy } from '../../audit/actor.js';
import type { Audit } from '../../audit/audit.js';
import type { TokenHasher } from '../../crypto/token-hash.js';
import type { PrismaClient } from '../../db/generated/client.js';
import { InvalidRequest, NotFound, TollgateError } from '../../errors.js';
import type { Families } from '../../families/families.js';
import { readForm, single } from '../../request/body.js';
import { CSRF_FIELD, type Csrf } from '../../request/csrf.js';
import { deviceOf } from '../../request/device.js';
import type { LoginLimiter } from '../../security/rate-limits.js';
import { revokeSession } from '../../sessions/sessions.js';
import { accountLoginPage, accountPage } from '../../../views/account.js';
import type { Theme } from '../../../views/theme.js';
import { listConsents, listDevices, withdrawConsent } from '../../accounts/devices.js';
import {
  ACCOUNT_CLIENT_ID,
  selfActor,
  clearAccountSession,
  currentAccountSession,
  startAccountSession,
  accountPageCookie,
  touchAccountSession,
  type AccountSession,
} from '../../accounts/account-sessions.js';

export interface AccountDeps {
  prisma: PrismaClient;
  families: Families;
  audit: Audit;
  hash: TokenHasher;
  csrf: Csrf;
  loginLimiter?: LoginLimiter | undefined;
  /** How the account page names itself in the device list. */
  ownName: string;
  theme: Theme;
}

const GENERIC_LOGIN_ERROR = 'Invalid username or password.';

const NOTICES: Record<string, string> = {
  'device-signed-out': 'That device is signed out.',
  'others-signed-out': 'You are signed out everywhere else.',
  'password-changed': 'Your password is changed. Your other devices are signed out.',
  'consent-withdrawn': 'Access withdrawn. The application must ask you again.',
  'signed-out': 'You are signed out of your account page.',
  'password-reset': 'Your password is changed and every device is signed out. Sign in with your new password.',
};

const noticeOf = (ctx: Context) => NOTICES[String(ctx.query.notice ?? '')];

// CSRF tokens (src/request/csrf.ts) are bound to what the form acts on: the signed-in page to its session (family), the
// sign-in form to a random value this browser holds in a cookie, so that no two browsers share a token.
const PRE_SESSION_COOKIE = 'tg_account_pre';
const sessionBinding = (session: AccountSession) => `account:${session.familyId}`;

/** The pre-session binding of this browser, set when it has none (for a form about to be shown). */
export function preSessionBinding(ctx: Context, { create }: { create: boolean }): string | undefined {
  let value = ctx.cookies.get(PRE_SESSION_COOKIE);
  if ((!value || !/^[\w-]{22}$/.test(value)) && create) {
    value = randomBytes(16).toString('base64url');
    ctx.cookies.set(PRE_SESSION_COOKIE, value, accountPageCookie(ctx));
  }
  return value && /^[\w-]{22}$/.test(value) ? `account-pre:${value}` : undefined;
}

export function createAccountRouter(deps: AccountDeps): Router {
  const { prisma, families, audit, csrf, loginLimiter } = deps;
  const lifecycle: LifecycleDeps = deps;
  const router = new Router({ prefix: '/account' });

  const page = (ctx: Context, body: string, status = 200) => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body;
  };

  async function renderAccount(
    ctx: Context,
    session: AccountSession,
    extra: { notice?: string | undefined; error?: string } = {},
    status = 200,
  ) {
    const account = await findAccountById(prisma, session.accountId);
    if (!account) throw new NotFound('no such user');
    const [devices, consents] = await Promise.all([
      listDevices(prisma, session.accountId, session.familyId, deps.ownName),
      listConsents(prisma, session.accountId),
    ]);
    page(
      ctx,
      accountPage(deps.theme, {
        username: account.username,
        email: account.email,
        emailVerified: account.emailVerifiedAt !== null,
        csrf: csrf.token(sessionBinding(session)),
        devices,
        consents,
        ...extra,
      }),
      status,
    );
  }

  router.get('/', async function showAccount(ctx) {
    const session = await currentAccountSession(deps, ctx);
    if (!session) {
      ctx.status = 303;
      ctx.redirect('/account/login');
      return;
    }
    await touchAccountSession(prisma, session);
    await renderAccount(ctx, session, { notice: noticeOf(ctx) });
  });

  router.get('/login', async function showAccountLogin(ctx) {
    page(
      ctx,
      accountLoginPage(deps.theme, {
        csrf: csrf.token(preSessionBinding(ctx, { create: true })!),
        notice: noticeOf(ctx),
      }),
    );
  });

  router.post('/login', async function signInToAccount(ctx) {
    const form = await readForm(ctx);
    csrf.check(ctx, preSessionBinding(ctx, { create: false }) ?? 'account-pre:none', single(form, CSRF_FIELD));
    const username = single(form, 'username') ?? '';
    // The attempt takes its place in the sign-in limits before its password is hashed (src/security/rate-limits.ts).
    const reservation = await loginLimiter?.reserve(username, ctx.ip, false);
    if (reservation?.retryAfter) {
      ctx.set('Retry-After', String(reservation.retryAfter));
      page(
        ctx,
        accountLoginPage(deps.theme, {
          csrf: csrf.token(preSessionBinding(ctx, { create: true })!),
          username,
          error: `Too many failed sign-in attempts. Try again in ${reservation.retryAfter} seconds.`,
        }),
        429,
      );
      return;
    }
    const accountId = await authenticate(prisma, username, single(form, 'password') ?? '');
    if (!accountId) {
      await audit.record({
        type: 'login.failed',
        outcome: 'failure',
        clientId: ACCOUNT_CLIENT_ID,
        ...deviceOf(ctx),
        detail: { username: username.slice(0, 64) },
      });
      page(
        ctx,
        accountLoginPage(deps.theme, {
          csrf: csrf.token(preSessionBinding(ctx, { create: true })!),
          username,
          error: GENERIC_LOGIN_ERROR,
        }),
        401,
      );
      return;
    }
    await reservation?.release(); // a successful sign-in counts against nobody
    await audit.record({
      type: 'login.succeeded',
      outcome: 'success',
      accountId,
      clientId: ACCOUNT_CLIENT_ID,
      ...deviceOf(ctx),
    });
    await startAccountSession(deps, ctx, accountId);
    ctx.status = 303;
    ctx.redirect('/account');
  });

  router.post('/', async function changeAccount(ctx) {
    const form = await readForm(ctx);
    const session = await currentAccountSession(deps, ctx);
    if (!session) {
      ctx.status = 303;
      ctx.redirect('/account/login');
      return;
    }
    csrf.check(ctx, sessionBinding(session), single(form, CSRF_FIELD));
    const actor = selfActor('account_page', ctx);
    const done = (notice: string) => {
      ctx.status = 303;
      ctx.redirect(`/account?notice=${notice}`);
    };
    const action = single(form, 'action');
    try {
      switch (action) {
        case 'sign-out': {
          const device = single(form, 'device') ?? '';
          if (device === session.familyId) {
            await families.revokeFamily(session.familyId, 'device_logout', [
              eventBy(actor, 'session.revoked', 'revoked', { reason: 'device_logout' }),
            ]);
            clearAccountSession(ctx);
            ctx.status = 303;
            return ctx.redirect('/account/login?notice=signed-out');
          }
          await revokeSession(deps, session.accountId, device, actor);
          return done('device-signed-out');
        }
        case 'sign-out-others':
          await signOutOthers(lifecycle, session.accountId, actor, session.familyId);
          return done('others-signed-out');
        case 'withdraw-consent':
          await withdrawConsent(deps, session.accountId, single(form, 'consent') ?? '', actor);
          return done('consent-withdrawn');
        case 'change-password': {
          const account = await findAccountById(prisma, session.accountId);
          const current = single(form, 'current_password') ?? '';
          const next = single(form, 'new_password') ?? '';
          // Wrong current passwords count as failed sign-ins: the page must not be a way around the sign-in limits.
          const reservation = await loginLimiter?.reserve(session.username, ctx.ip, true);
          if (reservation?.retryAfter)
            return await renderAccount(
              ctx,
              session,
              { error: `Too many wrong passwords. Try again in ${reservation.retryAfter} seconds.` },
              429,
            );
          if (!account || !(await verifyPassword(account.passwordHash, current))) {
            return await renderAccount(ctx, session, { error: 'Your current password is not right.' }, 400);
          }
          await reservation?.release();
          await setPassword(lifecycle, session.accountId, next, actor, { keep: session.familyId });
          return done('password-changed');
        }
        default:
          throw new InvalidRequest('action must be sign-out, sign-out-others, withdraw-consent or change-password');
      }
    } catch (err) {
      // A refusal the user can act on is shown on the page, with the devices as they are now.
      if (err instanceof TollgateError && err.status < 500 && action !== undefined && action in ACTIONS) {
        return renderAccount(ctx, session, { error: err.error_description }, err.status);
      }
      throw err;
    }
  });

  return router;
}

const ACTIONS = { 'sign-out': 1, 'sign-out-others': 1, 'withdraw-consent': 1, 'change-password': 1 };
