// The device_code grant (RFC 8628 §3.4): oidc-provider's own, after one check of ours. RFC 8628 §3.5: a device
// polling faster than the interval gets `slow_down`. One first-writer-wins write per device code in the short-lived
// store holds across instances; the device code is hashed in the key, as everywhere.
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type Provider from 'oidc-provider';

import type { TokenHasher } from '../../crypto/token-hash.js';
import type { ShortLivedStore } from '../../store/types.js';
import { upstreamDeviceCodeHandler } from '../internals.js';

export const grantType = 'urn:ietf:params:oauth:grant-type:device_code';
/** The interval the device authorization response advertises (RFC 8628 §3.2; 5 s is also the default). */
export const POLL_INTERVAL_SECONDS = 5;
// A poll is "too fast" when it comes sooner than this after the previous one: a second under the interval, so a
// device keeping the interval exactly is never told to slow down by timer jitter.
const TOO_SOON_SECONDS = POLL_INTERVAL_SECONDS - 1;

export interface DeviceCodeGrantDeps {
  provider: Provider;
  store: ShortLivedStore;
  hash: TokenHasher;
}

export function createDeviceCodeGrant({ provider, store, hash }: DeviceCodeGrantDeps) {
  const upstream = upstreamDeviceCodeHandler(provider);
  async function checkPollingPace(ctx: KoaContextWithOIDC) {
    const code = ctx.oidc.params?.device_code;
    if (typeof code !== 'string' || !code) return; // upstream answers invalid_request
    if (!(await store.setIfAbsent(`device:poll:${hash(code)}`, '1', TOO_SOON_SECONDS))) throw new errors.SlowDown();
  }
  return {
    parameters: [...upstream.parameters],
    async handler(ctx: KoaContextWithOIDC) {
      await checkPollingPace(ctx);
      await upstream.handler(ctx);
    },
  };
}
