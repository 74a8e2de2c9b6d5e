// The token-exchange grant (RFC 8693), for a resource server calling another API on its user's behalf: it presents
// the access token it received (`subject_token`) and gets one for the other API (`resource` or `audience`), which
// names it as the actor. oidc-provider has no such grant; this one is registered with Provider#registerGrantType.
//   - Only clients registered with this grant type reach it (unauthorized_client otherwise, src/oidc/internals.ts),
//     and only confidential ones: the actor must be authenticated.
//   - The subject token is an access token Tollgate issued, active for the caller by the rule introspection applies
//     (src/oidc/access-token-status.ts): the caller holds it or stands for its audience; not revoked, its account
//     enabled, not logged out everywhere since. Anything else about it is invalid_request (RFC 8693 §2.2.2).
//   - The new token is for one API the caller has an allowance for (src/oidc/resource-access.ts: invalid_target
//     otherwise) and carries requested ∩ subject's ∩ allowed scopes (none: invalid_scope). It can only narrow.
//   - `act` names the caller, over the subject's own `act` (RFC 8693 §4.1); `sub` stays the user, `client_id` is
//     the caller. It expires no later than the subject token and dies with it (its record names the subject's,
//     src/oidc/access-token-status.ts). No refresh token. Every exchange is audited (`token.exchanged`).
import type { KoaContextWithOIDC } from 'oidc-provider';
import type Provider from 'oidc-provider';

import type { Audit } from '../../audit/audit.js';
import { TOKEN_EXCHANGE_GRANT } from '../../clients/clients.js';
import { BUILT_IN_SCOPE_SET } from '../../clients/scopes.js';
import { InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget, UnauthorizedClient } from '../../errors.js';
import { deviceOf } from '../../request/device.js';
import { epochNow } from '../../store/payload.js';
import type { AccessTokenStatus, ActiveAccessToken, Actor } from '../access-token-status.js';
import { grantHelpers, validateResourceServer } from '../internals.js';
import type { createResourceServerInfo } from '../resource-access.js';

export const grantType = TOKEN_EXCHANGE_GRANT;
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const parameters = [
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'resource',
  'audience',
  'scope',
];
/** RFC 8693 §2.1 lets `resource` and `audience` repeat; here exactly one API is named, and repeats say so. */
export const duplicates = ['resource', 'audience'];

// A token exchanged from an exchanged token… is bounded: each link is one more record its liveness depends on.
const MAX_EXCHANGES = 4;
const MAX_TOKEN_LENGTH = 8192;
const INACTIVE = 'subject_token is not an active access token issued to or for this client';

export interface TokenExchangeDeps {
  provider: Provider;
  status: AccessTokenStatus;
  getResourceServerInfo: ReturnType<typeof createResourceServerInfo>;
  audit: Audit;
}

type Ctx = KoaContextWithOIDC;
type Params = Record<string, unknown>;

/**
 * extraTokenClaims: the claims the grant put on its access tokens (`act`) survive issuing; oidc-provider asks this
 * hook for every access token and would otherwise replace them. Other grants' tokens get none.
 */
export function exchangedTokenClaims(token: { gty?: unknown; extra?: Record<string, unknown> }) {
  return token.gty === grantType ? token.extra : undefined;
}

function checkRequest(params: Params): string {
  const { subject_token: token, subject_token_type: type } = params;
  if (typeof token !== 'string' || !token) throw new InvalidRequest('missing required parameter(s) (subject_token)');
  if (typeof type !== 'string' || !type) throw new InvalidRequest('missing required parameter(s) (subject_token_type)');
  if (type !== ACCESS_TOKEN_TYPE)
    throw new InvalidRequest(`unsupported subject_token_type; only ${ACCESS_TOKEN_TYPE} is accepted`);
  if (params.actor_token !== undefined || params.actor_token_type !== undefined) {
    throw new InvalidRequest('actor_token is not supported: the authenticated client is the actor');
  }
  if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
    throw new InvalidRequest(`unsupported requested_token_type; only ${ACCESS_TOKEN_TYPE} can be issued`);
  }
  if (token.length > MAX_TOKEN_LENGTH) throw new InvalidRequest(INACTIVE);
  return token;
}

/** The one API the new token is for: `resource` and `audience` (RFC 8693 §2.1) both name API identifiers here. */
function targetOf(params: Params): string {
  const named = [...new Set([params.resource ?? [], params.audience ?? []].flat())];
  if (named.length === 0) throw new InvalidTarget('name the API the new token is for (resource or audience)');
  if (named.length > 1) throw new InvalidTarget('a token exchange issues a token for exactly one API');
  if (typeof named[0] !== 'string') throw new InvalidTarget();
  return named[0];
}

/** requested ∩ subject's ∩ allowed, in the allowance's order; without `scope`, the subject's scopes are requested. */
function grantedScopes(ctx: Ctx, subject: ActiveAccessToken, allowed: string[], target: string): string[] {
  const held = new Set(subject.scope.split(' ').filter((s) => s && !BUILT_IN_SCOPE_SET.has(s)));
  const requested = ctx.oidc.params!.scope ? ctx.oidc.requestParamScopes : held;
  const granted = allowed.filter((s) => requested.has(s) && held.has(s));
  if (granted.length === 0) {
    throw new InvalidScope(
      `none of the requested scopes is both held by the subject token and allowed to this client for ${target}`,
    );
  }
  return granted;
}

export function createTokenExchangeGrant({ provider, status, getResourceServerInfo, audit }: TokenExchangeDeps) {
  async function findSubject(ctx: Ctx, value: string): Promise<ActiveAccessToken> {
    const subject = await status.activeUserToken(value, ctx.oidc.client!);
    if (!subject?.accountId) throw new InvalidRequest(INACTIVE);
    if (subject.exchangedFrom.length >= MAX_EXCHANGES)
      throw new InvalidRequest(`subject_token was already exchanged ${MAX_EXCHANGES} times`);
    return subject;
  }

  async function issue(
    ctx: Ctx,
    subject: ActiveAccessToken,
    target: string,
    dPoP: Awaited<ReturnType<typeof grantHelpers.validateDpop>>,
  ) {
    const client = ctx.oidc.client!;
    const info = validateResourceServer(await getResourceServerInfo(ctx, target, client));
    const act: Actor = { sub: client.clientId, ...(subject.act ? { act: subject.act } : undefined) };
    const at = new provider.AccessToken({
      accountId: subject.accountId!,
      client,
      gty: grantType,
      extra: { act },
    } as never) as InstanceType<Provider['AccessToken']> & { exp?: number; exchangedFrom?: string[] };
    // Not part of oidc-provider's payload: the JWT's record takes it from here (jwt-access-tokens.ts).
    at.exchangedFrom = [subject.storeKey, ...subject.exchangedFrom];
    at.resourceServer = new provider.ResourceServer(target, info as never);
    at.scope = grantedScopes(ctx, subject, String(info.scope).split(' '), target).join(' ');
    // Never longer-lived than the subject token.
    at.exp = Math.min(epochNow() + at.expiration, subject.exp);
    if (dPoP) at.setThumbprint('jkt', dPoP.thumbprint); // RFC 9449 §5: bound to the caller's key
    ctx.oidc.entity('AccessToken', at);
    return { at, value: await at.save(), act };
  }

  return async function tokenExchangeGrant(ctx: Ctx): Promise<void> {
    const client = ctx.oidc.client!;
    if (client.clientAuthMethod === 'none') throw new UnauthorizedClient('token exchange is for confidential clients');
    const params = ctx.oidc.params as Params;
    const value = checkRequest(params);
    const target = targetOf(params);
    const dPoP = await grantHelpers.validateDpop(provider, ctx);
    grantHelpers.checkDpopRequired(provider, ctx, dPoP);
    const subject = await findSubject(ctx, value);
    await grantHelpers.checkDpopReplay(provider, ctx, dPoP, client.clientId, InvalidGrant);
    const { at, value: accessToken, act } = await issue(ctx, subject, target, dPoP);

    await audit.record({
      type: 'token.exchanged',
      outcome: 'success',
      ...deviceOf(ctx),
      accountId: subject.accountId,
      clientId: client.clientId,
      detail: {
        subject_client_id: subject.clientId,
        subject_token_format: subject.format,
        resource: target,
        scope: at.scope,
        act,
      },
    });
    ctx.body = grantHelpers.buildTokenResponse(provider, {
      accessToken,
      expiresIn: Number(at.exp) - epochNow(),
      issuedTokenType: ACCESS_TOKEN_TYPE,
      scope: at.scope,
      tokenType: at.tokenType,
    });
  };
}
