// The ONLY module that reaches into oidc-provider beyond its documented API. Upgrades of oidc-provider touch this
// file; everything else goes through the names exported here.
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type Provider from 'oidc-provider';
import introspectionEndpoint from 'oidc-provider/lib/actions/introspection.js';
import revocationEndpoint from 'oidc-provider/lib/actions/revocation.js';
import tokenEndpoint from 'oidc-provider/lib/actions/token.js';
import { resourceServer as validateResourceServer } from 'oidc-provider/lib/helpers/configuration_result.js';
import {
  checkAccountMismatch,
  createAccessToken,
  issueIdToken,
  validateAccount,
} from 'oidc-provider/lib/helpers/grant_common.js';
import * as grantHelpers from 'oidc-provider/lib/helpers/grants.js';
import * as upstreamDeviceCodeGrant from 'oidc-provider/lib/actions/grants/device_code.js';
import resolveResource from 'oidc-provider/lib/helpers/resolve_resource.js';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';
import initializeKeystore from 'oidc-provider/lib/helpers/initialize_keystore.js';
import type { JWK } from 'jose';

import { createHash } from 'node:crypto';

import { epochNow } from '../store/payload.js';
import { constantTimeEqual, type TokenHasher } from '../crypto/token-hash.js';
import type { ShortLivedStore } from '../store/types.js';

/**
 * Client secrets are stored as HMACs, and the adapter hands oidc-provider that HMAC as `client_secret`. Its
 * comparison (Client#compareClientSecret, called by shared/client_auth.js) must therefore hash the presented
 * secret before the constant-time comparison.
 */
export function compareHashedClientSecrets(provider: Provider, hash: TokenHasher): void {
  const proto = (provider.Client as unknown as { prototype: { clientSecret?: string; compareClientSecret: unknown } })
    .prototype;
  if (typeof proto.compareClientSecret !== 'function') {
    throw new Error('oidc-provider internals changed: Client#compareClientSecret is gone');
  }
  proto.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, presented: string) {
    return (
      typeof presented === 'string' &&
      typeof this.clientSecret === 'string' &&
      constantTimeEqual(this.clientSecret, hash(presented))
    );
  };
}

/**
 * RFC 8252 §7.3 lets a native app's loopback redirect URI use any port, since the app binds whatever port is free.
 * oidc-provider applies that to every client of application_type native, confidential ones included (a client
 * registered with a loopback URI is native). A confidential client is a server, not an app on the user's device:
 * its redirect URIs are matched exactly, port included (OAuth 2.1 §2.3.1); only public native clients get the
 * any-port rule.
 */
export function restrictLoopbackPortsToNativePublicClients(provider: Provider): void {
  const proto = (provider.Client as unknown as { prototype: Record<string, unknown> }).prototype;
  for (const name of ['redirectUriAllowed', 'postLogoutRedirectUriAllowed'] as const) {
    const original = proto[name];
    if (typeof original !== 'function') throw new Error(`oidc-provider internals changed: Client#${name} is gone`);
    const uris = name === 'redirectUriAllowed' ? 'redirectUris' : 'postLogoutRedirectUris';
    proto[name] = function allowed(this: Record<string, unknown>, value: string): boolean {
      const exact = Array.isArray(this[uris]) && (this[uris] as unknown[]).includes(value);
      if (exact) return true;
      const nativePublic = this.applicationType === 'native' && this.tokenEndpointAuthMethod === 'none';
      return nativePublic && (original as (v: string) => boolean).call(this, value);
    };
  }
}

/**
 * oidc-provider's ReplayDetection.unique (DPoP proofs, client assertions) finds, then saves: two racing requests
 * can both pass. Here it is one first-writer-wins write in the short-lived store, so a proof is used once across
 * every instance.
 */
export function makeReplayDetectionAtomic(provider: Provider, store: ShortLivedStore, hash: TokenHasher): void {
  const model = provider.ReplayDetection as unknown as { unique?: unknown };
  if (typeof model.unique !== 'function')
    throw new Error('oidc-provider internals changed: ReplayDetection.unique is gone');
  model.unique = async (iss: string, jti: string, exp: number) => {
    const id = createHash('sha256').update(`${iss}${jti}`).digest('base64url');
    const ttl = Math.max(1, exp - epochNow());
    return store.setIfAbsent(`oidc:ReplayDetection:${hash(id)}`, '1', ttl);
  };
}

type Step = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<unknown>;
const patchedSteps = new WeakSet<Step>();

/**
 * Replaces the named step of one of oidc-provider's endpoint stacks. The stacks are module-level arrays that
 * oidc-provider spreads into its router when a Provider is constructed, so this runs before `new Provider` and
 * once per process (a replaced step is recognised and left alone).
 */
function replaceStep(stack: Step[], name: string, replacement: (original: Step) => Step): void {
  const index = stack.findIndex((step) => step.name === name);
  if (index === -1) throw new Error(`oidc-provider internals changed: the ${name} step is gone`);
  if (patchedSteps.has(stack[index]!)) return;
  const step = replacement(stack[index]!);
  Object.defineProperty(step, 'name', { value: name });
  patchedSteps.add(step);
  stack[index] = step;
}

/**
 * RFC 6749 §5.2 error codes that oidc-provider 9 answers differently at the token endpoint (and, for client
 * authentication, at introspection and revocation too):
 * - a grant type the client is not registered for is `unauthorized_client` (oidc-provider: `invalid_request`);
 * - a request with no client authentication at all is `invalid_client`, 401 (oidc-provider: `invalid_request`,
 *   400), and so is a malformed or incomplete `Authorization: Basic` header: the client attempted to authenticate
 *   with it and failed, so §5.2 wants 401 with `WWW-Authenticate: Basic` (which oidc-provider's own
 *   setWWWAuthenticateHeader step, just outside, adds to every 401 when an Authorization header was sent).
 */
export function correctTokenEndpointErrors(): void {
  replaceStep(tokenEndpoint, 'allowedGrantTypeCheck', () => async (ctx, next) => {
    if (!ctx.oidc.client!.grantTypeAllowed(String(ctx.oidc.params!.grant_type))) {
      throw new errors.UnauthorizedClient('requested grant type is not allowed for this client');
    }
    await next();
  });
  for (const stack of [tokenEndpoint, introspectionEndpoint, revocationEndpoint]) {
    replaceStep(stack, 'authenticateClient', (original) => async (ctx, next) => {
      const params = ctx.oidc.params as Record<string, unknown>;
      const basic = ctx.headers.authorization !== undefined;
      const inBody = params.client_secret !== undefined || params.client_assertion !== undefined;
      if (
        !basic &&
        !inBody &&
        params.client_id === undefined &&
        ctx.headers['oauth-client-attestation'] === undefined
      ) {
        throw new errors.InvalidClientAuth('no client authentication mechanism provided');
      }
      let authenticated = false;
      try {
        return await original(ctx, async () => {
          authenticated = true;
          await next();
        });
      } catch (err) {
        // Only a failure of the Basic credentials themselves; "several mechanisms at once" stays invalid_request.
        if (!authenticated && basic && !inBody && err instanceof errors.InvalidRequest) {
          throw new errors.InvalidClientAuth(err.error_description ?? 'invalid Authorization header');
        }
        throw err;
      }
    });
  }
}

/**
 * OAuth 2.1 §4.1.3 drops `redirect_uri` from the token request (PKCE prevents code injection; §10.2 explains).
 * oidc-provider requires it whenever a client has several redirect URIs. Here a code exchange may omit it when
 * the authorization request used PKCE: the code's own redirect URI is taken. When it is sent, it must still equal
 * the authorization request's (RFC 6749 §4.1.3, which OAuth 2.1 §10.2 keeps for compatibility): oidc-provider's
 * check, unchanged. A code issued without PKCE (a confidential OpenID Connect client relying on `nonce`, OAuth 2.1
 * §7.5.1) keeps RFC 6749's rule: `redirect_uri` is required.
 */
export function allowOmittingRedirectUriWithPkce(provider: Provider): void {
  const handlers = (
    instance(provider) as unknown as { grantTypeHandlers: Map<string, (ctx: KoaContextWithOIDC) => Promise<void>> }
  ).grantTypeHandlers;
  const original = handlers?.get('authorization_code');
  if (typeof original !== 'function')
    throw new Error('oidc-provider internals changed: no authorization_code grant handler');
  handlers.set('authorization_code', async function authorizationCodeWithOptionalRedirectUri(ctx) {
    const params = ctx.oidc.params as Record<string, unknown>;
    if (params.redirect_uri === undefined && typeof params.code === 'string') {
      const code = await provider.AuthorizationCode.find(params.code, { ignoreExpiration: true });
      if (code?.codeChallenge && typeof code.redirectUri === 'string') params.redirect_uri = code.redirectUri;
      // oidc-provider would fill in a single registered URI; a code without PKCE keeps RFC 6749 §4.1.3's rule.
      else if (code) throw new errors.InvalidRequest("missing required parameter 'redirect_uri'");
    }
    return original(ctx);
  });
}

/**
 * Replaces one of oidc-provider's built-in response modes (Provider#registerResponseMode keeps an existing one).
 * Tollgate renders form_post itself: src/oidc/form-post.ts says why.
 */
export function replaceResponseMode(
  provider: Provider,
  name: string,
  handler: (ctx: KoaContextWithOIDC, redirectUri: string, params: Record<string, unknown>) => void,
): void {
  const modes = (instance(provider) as unknown as { responseModes?: Map<string, unknown> }).responseModes;
  if (!modes?.has(name)) throw new Error(`oidc-provider internals changed: no ${name} response mode to replace`);
  modes.set(name, handler);
}

// The pieces of oidc-provider's own grant machinery that Tollgate's refresh_token grant reuses, so that DPoP,
// resource indicators, ID tokens and the response shape behave exactly as in the other grants.

export {
  checkAccountMismatch,
  createAccessToken,
  grantHelpers,
  issueIdToken,
  resolveResource,
  validateAccount,
  validateResourceServer,
};

/**
 * oidc-provider's own device_code grant (RFC 8628 §3.4), as it would register it itself: bound to the provider and
 * its grant helpers. Tollgate registers a wrapper (grants/device-code.ts) that paces polling first.
 */
export function upstreamDeviceCodeHandler(provider: Provider): {
  handler: (ctx: KoaContextWithOIDC) => Promise<void>;
  parameters: Set<string>;
  grantType: string;
} {
  const helpers = Object.fromEntries(
    Object.entries(grantHelpers).map(([name, helper]) => [
      name,
      (helper as (...a: unknown[]) => unknown).bind(undefined, provider),
    ]),
  );
  return {
    handler: (ctx) => upstreamDeviceCodeGrant.handler(provider, helpers, ctx),
    parameters: upstreamDeviceCodeGrant.parameters,
    grantType: upstreamDeviceCodeGrant.grantType,
  };
}

/**
 * oidc-provider sends back-channel logout tokens itself at end_session, once, without retry (Client#backchannelLogout).
 * Here that method enqueues instead (durable, retried: src/logout/); the returned function is the original
 * delivery (logout token signed by oidc-provider, POSTed through its SSRF-guarded fetch), for the queue's worker.
 */
export function routeBackchannelLogoutsToQueue(
  provider: Provider,
  enqueue: (clientId: string, sub: string, sid: string | null) => Promise<void>,
): (clientId: string, sub: string, sid: string | null) => Promise<void> {
  const proto = (
    provider.Client as unknown as {
      prototype: { backchannelLogout?: (this: { clientId: string }, sub: string, sid?: string) => Promise<void> };
    }
  ).prototype;
  const original = proto.backchannelLogout;
  if (typeof original !== 'function')
    throw new Error('oidc-provider internals changed: Client#backchannelLogout is gone');
  proto.backchannelLogout = function queueBackchannelLogout(sub, sid) {
    return enqueue(this.clientId, sub, sid ?? null);
  };
  return async (clientId, sub, sid) => {
    const client = (await provider.Client.find(clientId)) as unknown as
      { clientId: string; backchannelLogoutUri?: string } | undefined;
    if (!client) throw new Error('the client no longer exists');
    if (!client.backchannelLogoutUri) throw new Error('the client no longer has a backchannel_logout_uri');
    await original.call(client, sub, sid ?? undefined);
  };
}

/** oidc-provider's parsed configuration of a provider instance. */
export const providerConfiguration = (provider: Provider) => instance(provider).configuration;

/** The value and stored payload of a token model, without saving it through the adapter. */
export async function tokenValueAndPayload(
  token: object,
): Promise<{ value: string; payload?: Record<string, unknown> }> {
  const model = token as {
    jti?: string;
    generateTokenId(): string;
    getValueAndPayload(): Promise<{ value: string; payload?: Record<string, unknown> }>;
  };
  if (typeof model.getValueAndPayload !== 'function')
    throw new Error('oidc-provider internals changed: getValueAndPayload is gone');
  if (!model.jti) model.jti = model.generateTokenId();
  return model.getValueAndPayload();
}

/**
 * A token's save (BaseModel#save, for tokens), split in two: its value now, the adapter write when `save` is
 * called. The refresh grant issues an access token and writes it in the same batch as the rotation's other
 * store writes, instead of one round trip each. Same order and events as oidc-provider's own save.
 */
export async function issueWithoutSaving(token: object): Promise<{ value: string; save(): Promise<void> }> {
  const model = token as {
    jti?: string;
    remainingTTL: number;
    emit(event: string): void;
    adapter: { upsert(id: string, payload: object, ttl: number): Promise<void> };
  };
  if (typeof model.emit !== 'function') throw new Error('oidc-provider internals changed: models no longer emit');
  const ttl = model.remainingTTL; // read before the value is made, as oidc-provider's save does
  const { value, payload } = await tokenValueAndPayload(token);
  return {
    value,
    async save() {
      if (!payload) {
        model.emit('issued'); // a structured (JWT) token: recorded by its format's customizer, nothing to store
        return;
      }
      await model.adapter.upsert(String(model.jti), payload, ttl);
      model.emit('saved');
    },
  };
}

/**
 * Replaces the provider's signing keys while it runs (a rotation announced by another instance, or an activation
 * coming due). oidc-provider builds its keystore and its published JWKS once, from the `jwks` option, in
 * helpers/initialize_keystore.js; running that again swaps both at once for every later request.
 */
export function replaceSigningKeys(provider: Provider, jwks: { keys: object[] }): void {
  initializeKeystore.call(provider, structuredClone(jwks));
}

/** The public JWKS the provider publishes at /jwks right now (rebuilt by each replaceSigningKeys). */
export function publishedSigningKeys(provider: Provider): { keys: JWK[] } {
  return (instance(provider) as unknown as { jwks: { keys: JWK[] } }).jwks;
}

/**
 * Relies on undocumented behaviour: oidc-provider answers introspection and revocation of a token that is in none
 * of its own formats (a JWT access token, which it issues but never looks up) with 400 `unsupported_token_type`,
 * after it has authenticated the client and parsed the request. `answer` takes the response over at exactly that
 * point, with `ctx.oidc.client` and `ctx.oidc.params.token` set; its result is the 200 body ('' for revocation).
 * Installed with provider.use, around oidc-provider's router.
 */
export function answerUnsupportedTokens(
  answer: (
    ctx: KoaContextWithOIDC,
    route: 'introspection' | 'revocation',
    token: string,
  ) => Promise<unknown | undefined>,
): (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void> {
  return async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    if ((route !== 'introspection' && route !== 'revocation') || ctx.status !== 400) return;
    const token = ctx.oidc.params?.token;
    if (
      (ctx.body as { error?: string })?.error !== 'unsupported_token_type' ||
      !ctx.oidc.client ||
      typeof token !== 'string'
    )
      return;
    const body = await answer(ctx, route, token);
    if (body === undefined) return;
    ctx.status = 200;
    ctx.body = body;
  };
}
