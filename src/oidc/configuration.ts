// oidc-provider configuration. Only deviations from oidc-provider's defaults are written here, each with the
// reason (usually an RFC or the OAuth 2.1 draft) it is made.
import { randomBytes } from 'node:crypto';

import { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

import type { NotBeforeCheck } from '../accounts/not-before.js';

import type { Config } from '../config.js';
import type { AdapterFactory } from '../../adapters/index.js';
import { errorPage } from '../../views/error.js';
import { loggedOutPage, logoutPage } from '../../views/logout.js';
import type { Theme } from '../../views/theme.js';
import { BUILT_IN_SCOPES } from '../clients/scopes.js';
import { applyRegistrationPolicy } from '../registration/policy.js';
import type { IntrospectionPolicy } from './introspection-policy.js';
import { recordJwtAccessTokens } from './jwt-access-tokens.js';
import { exchangedTokenClaims } from './grants/token-exchange.js';
import type { createResourceServerInfo } from './resource-access.js';
import type { SigningKeys } from './keys.js';
import { devicePageSources } from './device-pages.js';
import { allowsInsecureTarget, createOutboundFetch } from './outbound.js';
import { NONCE_INSTEAD_OF_PKCE, pkceRequired, validateNonceInsteadOfPkce } from './pkce-policy.js';

export interface ConfigurationDeps {
  config: Config;
  theme: Theme;
  adapter: AdapterFactory;
  keys: SigningKeys;
  cookieKeys: string[];
  findAccount: NonNullable<Configuration['findAccount']>;
  getResourceServerInfo: ReturnType<typeof createResourceServerInfo>;
  introspectionPolicy: IntrospectionPolicy;
  notBefore: NotBeforeCheck;
}

/**
 * oidc-provider's default prompts, plus one check: a browser session from before its account's logout everywhere
 * must sign in again, or it could mint new tokens without the user.
 */
function buildPolicy(notBefore: NotBeforeCheck) {
  const policy = interactionPolicy.base();
  const { Check } = interactionPolicy;
  policy.get('login')!.checks.add(
    new Check('logged_out_everywhere', 'End-User authentication is required', async (ctx) => {
      const { session, result } = ctx.oidc;
      if (!session?.accountId || result?.login) return Check.NO_NEED_TO_PROMPT;
      return (await notBefore(session.accountId, session.loginTs)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
    }),
  );
  return policy;
}

const SIGNING_ALGS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;

/**
 * RFC 7591 §2 metadata oidc-provider does not know (it would drop them), kept for the client's own record. Their
 * validator is also where the registration policy runs: it is the one hook oidc-provider calls, with the request,
 * for every client a registration or an RFC 7592 update builds (and never for clients loaded from the database).
 */
function registrationMetadata(config: Config): NonNullable<Configuration['extraClientMetadata']> {
  const allowLoopback = allowsInsecureTarget(config);
  return {
    properties: ['software_id', 'software_version', NONCE_INSTEAD_OF_PKCE],
    validator(ctx, key, value, metadata) {
      if (key === NONCE_INSTEAD_OF_PKCE) {
        validateNonceInsteadOfPkce(value, (ctx as KoaContextWithOIDC | undefined)?.oidc?.route);
        return;
      }
      if (value !== undefined && (typeof value !== 'string' || value.length > 200)) {
        throw new errors.InvalidClientMetadata(`${key} must be a string of at most 200 characters`);
      }
      const route = (ctx as KoaContextWithOIDC | undefined)?.oidc?.route;
      if (key === 'software_id' && (route === 'registration' || route === 'client_update')) {
        applyRegistrationPolicy(
          metadata as Record<string, unknown>,
          ((ctx as KoaContextWithOIDC).oidc.body ?? {}) as Record<string, unknown>,
          { allowLoopback },
        );
      }
    },
  };
}

export function buildConfiguration(deps: ConfigurationDeps): Configuration {
  const {
    config,
    theme,
    adapter,
    keys,
    cookieKeys,
    findAccount,
    getResourceServerInfo,
    introspectionPolicy,
    notBefore,
  } = deps;
  const deviceSources = devicePageSources(theme);
  const secureCookies = config.issuer.startsWith('https:');
  return {
    adapter: adapter as unknown as Configuration['adapter'],
    findAccount,
    jwks: keys.jwks as Configuration['jwks'],

    // OAuth 2.1 §4: only the authorization code flow; implicit and hybrid response types are gone.
    responseTypes: ['code'],
    // OAuth 2.1 §4.1.1 / RFC 9700 §2.1.1: PKCE for every client, public or confidential. oidc-provider 9 only
    // knows S256, so `plain` is refused.
    // The one exception, per client and off by default: OAuth 2.1 §7.5.1's nonce for confidential OpenID Connect
    // clients (src/oidc/pkce-policy.ts).
    pkce: { required: (ctx, client) => pkceRequired(ctx, client as never) },
    // OAuth 2.1 §4.3.1 / RFC 9700 §4.14.2: rotate refresh tokens for every client, however old the chain.
    rotateRefreshToken: true,
    // Symmetric client authentication (client_secret_jwt) would need the raw secret, which is never stored.
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    enabledJWA: {
      clientAuthSigningAlgValues: SIGNING_ALGS,
      idTokenSigningAlgValues: SIGNING_ALGS,
      userinfoSigningAlgValues: SIGNING_ALGS,
      introspectionSigningAlgValues: SIGNING_ALGS,
      authorizationSigningAlgValues: SIGNING_ALGS,
      requestObjectSigningAlgValues: SIGNING_ALGS,
    },
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      id_token_signed_response_alg: config.signingKeyAlg,
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },

    scopes: [...BUILT_IN_SCOPES], // every other scope is an API's (src/clients/resource-servers.ts)
    // The scopes' claims go into the ID token too (email and email_verified under `email`), not only to userinfo:
    // clients reading the ID token alone should see whether the address is verified (OIDC Core §5.4 allows both).
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      profile: ['preferred_username'],
      email: ['email', 'email_verified'],
    },

    extraClientMetadata: registrationMetadata(config),
    // Client jwks_uri fetches (and back-channel logout): special-use addresses refused, see outbound.ts.
    fetch: createOutboundFetch(config) as Configuration['fetch'],

    features: {
      devInteractions: { enabled: false }, // our own login and consent pages (src/oidc/interactions.ts)
      // RFC 7591 dynamic client registration. The initial access token (REGISTRATION=initial-token) is checked
      // before oidc-provider runs (src/registration/gate.ts: hashed, counted uses); the registration policy runs
      // in extraClientMetadata. Each registered client gets a registration access token (RFC 7592), stored hashed.
      registration: {
        enabled: config.registration !== 'off',
        initialAccessToken: false,
        issueRegistrationAccessToken: true,
        idFactory: () => randomBytes(16).toString('base64url'),
        secretFactory: () => randomBytes(32).toString('base64url'),
      },
      // RFC 8628 device authorization grant: /device/auth for devices, /device for people (our pages). User codes
      // are 8 characters of a 20-letter alphabet without vowels (about 34 bits), so guessing one is rate limited
      // (src/security/device-limits.ts); device and user codes are stored only as hashes (device-code-adapter.ts).
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource: deviceSources.userCodeInputSource as never,
        userCodeConfirmSource: deviceSources.userCodeConfirmSource as never,
        successSource: deviceSources.successSource as never,
      },
      // OpenID Connect Back-Channel Logout 1.0: clients with a backchannel_logout_uri get a logout token when the
      // user signs out (end_session), and on Tollgate's own sign-outs (src/logout/). Delivery is queued and retried.
      backchannelLogout: { enabled: true },
      // RFC 7592 read, update and delete; every update replaces the registration access token (§2.2 allows it).
      registrationManagement: { enabled: config.registration !== 'off', rotateRegistrationAccessToken: true },
      // RFC 9449: proof-of-possession. Public clients presenting a DPoP proof at the code exchange get refresh
      // tokens bound to that key; the refresh grant (grants/refresh-token.ts) refuses them without its proof.
      // Proof replay detection lives in the short-lived store, so it holds across instances.
      dPoP: { enabled: true, allowReplay: false },
      // RFC 9126: pushed authorization requests; a client registered with
      // require_pushed_authorization_requests=true must use them.
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      clientCredentials: { enabled: true }, // RFC 6749 §4.4
      // RFC 7662 §2.1 leaves who may introspect to the server: a confidential client, for its own tokens.
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => {
          const t = token as typeof token & { aud?: string | string[]; accountId?: string };
          return introspectionPolicy(client, { clientId: t.clientId, aud: t.aud, accountId: t.accountId, iat: t.iat });
        },
      },
      // RFC 8707: a client names the API it wants a token for; registered APIs get RFC 9068 JWTs (verifiable
      // locally through the JWKS) carrying only scopes the API defines and the client was allowed
      // (src/oidc/resource-access.ts). Without `resource`, tokens stay opaque (usable at userinfo, introspectable).
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => undefined,
        useGrantedResource: async () => true,
        getResourceServerInfo: getResourceServerInfo as never,
      },
      // RFC 7009 §2.1: the server verifies the token was issued to the client asking to revoke it.
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = logoutPage(theme, { host: ctx.host, form });
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          // oidc-provider forwards client_id to this page only when the answer was "no" (lib/actions/end_session.js);
          // a "no" to a logout no application asked for forwards nothing, but leaves the session signed in.
          const stayedSignedIn =
            Boolean(ctx.oidc.params?.client_id) || Boolean((await ctx.oidc.provider.Session.get(ctx)).accountId);
          ctx.body = loggedOutPage(theme, { clientName: ctx.oidc.client?.clientName, stayedSignedIn });
        },
      },
    },

    formats: {
      customizers: { jwt: recordJwtAccessTokens(adapter) as never },
    },
    // RFC 8693 §4.1: a token from the token-exchange grant keeps the `act` claim its grant gave it.
    extraTokenClaims: async (_ctx, token) => exchangedTokenClaims(token as never),

    ttl: {
      AccessToken: config.accessTokenTtl,
      ClientCredentials: config.accessTokenTtl,
      DeviceCode: config.deviceCodeTtl, // RFC 8628 §3.2 expires_in
      AuthorizationCode: 60, // RFC 6749 §4.1.2 recommends at most 10 minutes; a minute is plenty for a redirect
      IdToken: 3600,
      Interaction: 600,
      RefreshToken: config.refreshIdleTtl,
      Grant: config.refreshFamilyMaxTtl,
      Session: config.refreshIdleTtl,
    },

    cookies: {
      keys: cookieKeys,
      long: { httpOnly: true, sameSite: 'lax', secure: secureCookies, signed: true },
      short: { httpOnly: true, sameSite: 'lax', secure: secureCookies, signed: true },
    },

    interactions: {
      url: async (_ctx, interaction) => `/interaction/${interaction.uid}`,
      policy: buildPolicy(notBefore),
    },

    async renderError(ctx: KoaContextWithOIDC, out) {
      ctx.type = 'html';
      ctx.body = errorPage(theme, {
        error: String(out.error),
        description: out.error_description ? String(out.error_description) : undefined,
      });
    },
  };
}
