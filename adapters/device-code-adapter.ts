// Device codes (RFC 8628) in the short-lived store, with nothing replayable at rest: the device code is the key's
// hash like every token, and the user code is kept only as the hash that indexes it (never in the payload).
//
// oidc-provider finds a device code by its user code (the /device page) and then saves it by its jti, and an
// interaction remembers that jti until the user has signed in. The raw device code is not recoverable from the
// user code, so a code found by user code gets a fresh random handle as its jti instead: `handle.<random>`, which
// resolves to the same storage key for the pages, but never at the token endpoint (a handle is not a device code).
import { randomBytes } from 'node:crypto';

import { currentRequest } from '../src/request/context.js';
import { epochNow, type Payload } from '../src/store/payload.js';
import { StoreAdapter, type StoreAdapterDeps } from './store-adapter.js';

const HANDLE = 'handle.';
// Kept this long past expiry, so that a device polling late hears expired_token (RFC 8628 §3.5), not invalid_grant.
const EXPIRED_KEPT_SECONDS = 600;
const MODEL = 'DeviceCode';

export class DeviceCodeAdapter extends StoreAdapter {
  readonly #deps: StoreAdapterDeps;

  constructor(deps: StoreAdapterDeps) {
    super(MODEL, deps);
    this.#deps = deps;
  }

  #userCodeKey = (userCode: string) => `oidc:${MODEL}:user:${this.#deps.hash(userCode)}`;
  #handleKey = (handle: string) => `oidc:${MODEL}:handle:${this.#deps.hash(handle)}`;

  /** The storage key an id names: a device code's own, or a handle's (undefined at the token endpoint). */
  async #keyOf(id: string): Promise<string | undefined> {
    if (!id.startsWith(HANDLE)) return this.key(id);
    if (currentRequest()?.oidc?.route === 'token') return undefined;
    return (await this.#deps.store.get(this.#handleKey(id))) ?? undefined;
  }

  override async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
    const key = await this.#keyOf(id);
    if (!key) throw new Error('device code handle expired');
    const { userCode, ...rest } = payload;
    const kept = expiresIn ? expiresIn + EXPIRED_KEPT_SECONDS : undefined;
    await this.upsertAt(key, rest, kept);
    if (typeof userCode === 'string' && !id.startsWith(HANDLE)) {
      await this.#deps.store.set(this.#userCodeKey(userCode), key, kept);
    }
  }

  override async find(id: string): Promise<Payload | undefined> {
    const key = await this.#keyOf(id);
    return key ? this.readAt(key, id) : undefined;
  }

  override async findByUserCode(userCode: string): Promise<Payload | undefined> {
    const { store } = this.#deps;
    const key = await store.get(this.#userCodeKey(userCode));
    if (!key) return undefined;
    const handle = `${HANDLE}${randomBytes(32).toString('base64url')}`;
    const payload = await this.readAt(key, handle);
    if (!payload) return undefined;
    const ttl = Math.max(1, (payload.exp ?? epochNow() + 600) - epochNow());
    await store.set(this.#handleKey(handle), key, ttl);
    return { ...payload, userCode };
  }

  override async consume(id: string): Promise<boolean> {
    const key = await this.#keyOf(id);
    return key ? this.consumeAt(key) : false;
  }

  override async destroy(id: string): Promise<void> {
    const key = await this.#keyOf(id);
    if (key) await this.destroyAt(key);
  }
}
