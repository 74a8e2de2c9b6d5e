// The ONLY module that reaches into oidc-provider beyond its documented API. Upgrades of oidc-provider touch this
// file; everything else goes through the names exported here.
import type Provider from 'oidc-provider';

import { constantTimeEqual, type TokenHasher } from '../crypto/token-hash.js';

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
