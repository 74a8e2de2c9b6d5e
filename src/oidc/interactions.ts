// The login and consent pages. oidc-provider hands the browser to /interaction/:uid with a signed, HttpOnly,
// SameSite=Lax interaction cookie; interactionDetails() refuses a request whose cookie does not match the uid. On
// top of that cookie, each form carries a CSRF token bound to the interaction and must come from this server's own
// origin (src/request/csrf.ts): SameSite alone is not the only line, e.g. for a sibling subdomain (same site) or a
// browser that does not enforce it.
import Router from '@koa/router';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';

import { findAccountById } from '../accounts/account-queries.js';
import { authenticate } from '../accounts/accounts.js';
import type { Audit } from '../audit/audit.js';
import type { PrismaClient } from '../db/generated/client.js';
import { InvalidRequest } from '../errors.js';
import { readForm, single } from '../request/body.js';
import { CSRF_FIELD, type Csrf } from '../request/csrf.js';
import { deviceOf } from '../request/device.js';
import type { ResourceServerLookup } from '../clients/resource-servers.js';
import type { SignInGate } from '../accounts/sign-in-gate.js';
import type { TokenHasher } from '../crypto/token-hash.js';
import type { LoginLimiter } from '../security/rate-limits.js';
import { consentPage, type ConsentApi } from '../../views/consent.js';
import { loginPage } from '../../views/login.js';
import type { Theme } from '../../views/theme.js';

export interface InteractionDeps {
  provider: Provider;
  prisma: PrismaClient;
  audit: Audit;
  csrf: Csrf;
  /** Names and scope descriptions of APIs, for the consent page. */
  resourceServers: ResourceServerLookup;
  /** Absent when rate limiting is off. */
  loginLimiter?: LoginLimiter | undefined;
  /** Bounds the sign-ins waiting for a password check (src/accounts/sign-in-gate.ts). */
  signInGate: SignInGate;
  hash: TokenHasher;
  secureCookies: boolean;
  theme: Theme;
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

const GENERIC_LOGIN_ERROR = 'Invalid username or password.';

/** What an interaction's CSRF token is bound to. */
const csrfBinding = (uid: string) => `interaction:${uid}`;

// Set on a successful sign-in: this browser has signed in as this user before, so the per-username ceiling (which
// distributed guessing would fill) does not apply to it. Signed, and only a keyed hash of the username: it is no
// credential and is stored nowhere (OWASP's "device cookie" against lockout).
const KNOWN_DEVICE_COOKIE = 'tollgate.device';
const KNOWN_DEVICE_DAYS = 180;

export function createInteractionRouter({
  provider,
  prisma,
  audit,
  csrf,
  loginLimiter,
  resourceServers,
  signInGate,
  hash,
  secureCookies,
  theme,
}: InteractionDeps): Router {
  const device = (ctx: Context) => deviceOf(ctx);
  const deviceMark = (username: string) => hash(`known-device:${username.toLowerCase()}`);
  const isKnownDevice = (ctx: Context, username: string) =>
    ctx.cookies.get(KNOWN_DEVICE_COOKIE, { signed: true }) === deviceMark(username);
  const router = new Router({ prefix: '/interaction/:uid' });

  async function details(ctx: Context): Promise<Details> {
    const interaction = await provider.interactionDetails(ctx.req, ctx.res);
    if (interaction.uid !== ctx.params.uid) throw new InvalidRequest('interaction does not match this browser session');
    return interaction;
  }

  async function clientName(interaction: Details): Promise<string> {
    const client = await provider.Client.find(String(interaction.params.client_id));
    return client?.clientName ?? String(interaction.params.client_id);
  }

  /** Each API asked for, by name, with the descriptions of the scopes asked (only scopes the client is allowed). */
  async function apisAsked(missing: Record<string, string[]>): Promise<ConsentApi[]> {
    return Promise.all(
      Object.entries(missing).map(async ([identifier, scopes]) => {
        const api = await resourceServers.find(identifier);
        const described = new Map(api?.scopes.map((s) => [s.name, s.description]));
        return {
          name: api?.name ?? identifier,
          identifier,
          scopes: scopes.map((s) => ({ name: s, description: described.get(s) })),
        };
      }),
    );
  }

  async function render(ctx: Context, interaction: Details, extra: { username?: string; error?: string } = {}) {
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    const name = await clientName(interaction);
    const csrfToken = csrf.token(csrfBinding(interaction.uid));
    if (interaction.prompt.name === 'login') {
      ctx.body = loginPage(theme, {
        action: `/interaction/${interaction.uid}/login`,
        clientName: name,
        csrfToken,
        ...extra,
      });
      return;
    }
    const account = await findAccountById(prisma, String(interaction.session?.accountId));
    const details = interaction.prompt.details as {
      missingOIDCScope?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const apis = await apisAsked(details.missingResourceScopes ?? {});
    ctx.body = consentPage(theme, {
      action: `/interaction/${interaction.uid}/confirm`,
      clientName: name,
      username: account?.username ?? '',
      scopes: details.missingOIDCScope ?? [],
      apis,
      csrfToken,
    });
  }

  router.get('/', async (ctx) => {
    await render(ctx, await details(ctx));
  });

  router.post('/login', async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') throw new InvalidRequest('this interaction is not asking for a login');
    const form = await readForm(ctx);
    csrf.check(ctx, csrfBinding(interaction.uid), single(form, CSRF_FIELD));
    const username = single(form, 'username') ?? '';
    const refuse = async (status: number, retryAfter: number, error: string) => {
      ctx.status = status;
      ctx.set('Retry-After', String(retryAfter));
      await render(ctx, interaction, { username, error });
    };
    // The attempt takes its place in the limits before its password is hashed (src/security/rate-limits.ts)...
    const reservation = await loginLimiter?.reserve(username, ctx.ip, isKnownDevice(ctx, username));
    if (reservation?.retryAfter) {
      await refuse(
        429,
        reservation.retryAfter,
        `Too many failed sign-in attempts. Try again in ${reservation.retryAfter} seconds.`,
      );
      return;
    }
    // ...and then its place in the queue for the hash, which is bounded.
    const admission = signInGate.admit(ctx.ip);
    if (!admission.admitted) {
      if (admission.reason === 'address')
        await refuse(429, 1, 'Too many sign-in attempts at once from your network. Try again in a second.');
      else await refuse(503, 1, 'The server is busy with other sign-ins. Try again in a second.');
      return;
    }
    let accountId: string | undefined;
    try {
      accountId = await authenticate(prisma, username, single(form, 'password') ?? '');
    } finally {
      admission.done();
    }
    const clientId = String(interaction.params.client_id);
    if (!accountId) {
      await audit.record({
        type: 'login.failed',
        outcome: 'failure',
        clientId,
        ...device(ctx),
        detail: { username: username.slice(0, 64) },
      });
      await render(ctx, interaction, { username, error: GENERIC_LOGIN_ERROR });
      return;
    }
    await reservation?.release(); // a successful sign-in counts against nobody
    ctx.cookies.set(KNOWN_DEVICE_COOKIE, deviceMark(username), {
      signed: true,
      httpOnly: true,
      sameSite: 'lax',
      secure: secureCookies,
      path: '/interaction',
      maxAge: KNOWN_DEVICE_DAYS * 86_400_000,
    });
    await audit.record({ type: 'login.succeeded', outcome: 'success', accountId, clientId, ...device(ctx) });
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId } }, { mergeWithLastSubmission: false });
    ctx.respond = false;
  });

  router.post('/confirm', async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'consent') throw new InvalidRequest('this interaction is not asking for consent');
    const form = await readForm(ctx);
    csrf.check(ctx, csrfBinding(interaction.uid), single(form, CSRF_FIELD));
    const decision = single(form, 'decision');
    if (decision !== 'allow' && decision !== 'deny') throw new InvalidRequest('decision must be allow or deny');
    if (decision === 'deny') {
      await provider.interactionFinished(
        ctx.req,
        ctx.res,
        { error: 'access_denied', error_description: 'the user denied the request' },
        { mergeWithLastSubmission: false },
      );
      ctx.respond = false;
      return;
    }
    const grantId = await saveGrant(provider, interaction);
    await audit.record({
      type: 'consent.granted',
      outcome: 'success',
      accountId: interaction.session?.accountId ?? null,
      clientId: String(interaction.params.client_id),
      ...device(ctx),
      detail: { scope: String(interaction.params.scope ?? '') },
    });
    await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    ctx.respond = false;
  });

  return router;
}

/** Records what the user just allowed on the (new or existing) grant of this client and account. */
async function saveGrant(provider: Provider, interaction: Details): Promise<string> {
  const {
    prompt: { details },
    params,
    session,
    grantId: existing,
  } = interaction;
  const grant = existing
    ? await provider.Grant.find(existing)
    : new provider.Grant({ accountId: String(session?.accountId), clientId: String(params.client_id) });
  if (!grant) throw new InvalidRequest('the grant of this interaction no longer exists');
  const d = details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {}))
    grant.addResourceScope(indicator, scopes.join(' '));
  return grant.save();
}
