// The ONLY module that reaches into oidc-provider beyond its documented API. Upgrades of oidc-provider touch this
// file; everything else goes through the names exported here.
import type Provider from 'oidc-provider';
import als from 'oidc-provider/lib/helpers/als.js';
import { resourceServer as validateResourceServer } from 'oidc-provider/lib/helpers/configuration_result.js';
import { checkAccountMismatch, createAccessToken, issueIdToken, validateAccount } from 'oidc-provider/lib/helpers/grant_common.js';
import * as grantHelpers from 'oidc-provider/lib/helpers/grants.js';
import resolveResource from 'oidc-provider/lib/helpers/resolve_resource.js';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';

import { createHash } from 'node:crypto';

import { epochNow } from '../../adapters/payload.js';
import { constantTimeEqual, type TokenHasher } from '../crypto/token-hash.js';
import type { ShortLivedStore } from '../store/types.js';

/**
 * Client secrets are stored as HMACs, and the adapter hands oidc-provider that HMAC as `client_secret`. Its
 * comparison (Client#compareClientSecret, called by shared/client_auth.js) must therefore hash the presented
 * secret before the constant-time comparison.
 */
export function compareHashedClientSecrets(provider: Provider, hash: TokenHasher): void {
  const proto = (provider.Client as unknown as { prototype: { clientSecret?: string; compareClientSecret: unknown } }).prototype;
  if (typeof proto.compareClientSecret !== 'function') {
    throw new Error('oidc-provider internals changed: Client#compareClientSecret is gone');
  }
  proto.compareClientSecret = function compareClientSecret(this: { clientSecret?: string }, presented: string) {
    return typeof presented === 'string' && typeof this.clientSecret === 'string' && constantTimeEqual(this.clientSecret, hash(presented));
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
  if (typeof model.unique !== 'function') throw new Error('oidc-provider internals changed: ReplayDetection.unique is gone');
  model.unique = async (iss: string, jti: string, exp: number) => {
    const id = createHash('sha256').update(`${iss}${jti}`).digest('base64url');
    const ttl = Math.max(1, exp - epochNow());
    return store.setIfAbsent(`oidc:ReplayDetection:${hash(id)}`, '1', ttl);
  };
}

// The pieces of oidc-provider's own grant machinery that Tollgate's refresh_token grant reuses, so that DPoP,
// resource indicators, ID tokens and the response shape behave exactly as in the other grants.

export { checkAccountMismatch, createAccessToken, grantHelpers, issueIdToken, resolveResource, validateAccount, validateResourceServer };

/** The koa context oidc-provider is handling now (adapters are called without one). */
export const currentOidcContext = () => als.getStore();

/** oidc-provider's parsed configuration of a provider instance. */
export const providerConfiguration = (provider: Provider) => instance(provider).configuration;

/** The value and stored payload of a token model, without saving it through the adapter. */
export async function tokenValueAndPayload(token: object): Promise<{ value: string; payload?: Record<string, unknown> }> {
  const model = token as { jti?: string; generateTokenId(): string; getValueAndPayload(): Promise<{ value: string; payload?: Record<string, unknown> }> };
  if (typeof model.getValueAndPayload !== 'function') throw new Error('oidc-provider internals changed: getValueAndPayload is gone');
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
    jti?: string; remainingTTL: number; emit(event: string): void;
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
