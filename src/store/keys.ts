// The short-lived store's key scheme for oidc-provider models, in one place below the adapters: the adapters write
// under these keys, and the refresh grant and families name the access tokens they track with the same function.
// Every identifier in a key is hashed (HMAC): no key names a bearer value.
import type { TokenHasher } from '../crypto/token-hash.js';

/** Where a model's payload lives, by the hash of its identifier. */
export const storeKeyFor = (hash: TokenHasher, model: string, id: string) => `oidc:${model}:${hash(id)}`;

/** The set of store keys issued under one grant (so revoking the grant reaches them). */
export const grantIndexKey = (hash: TokenHasher, grantId: string) => `oidc:grant:${hash(grantId)}`;
