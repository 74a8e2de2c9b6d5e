// oidc-provider models kept in the short-lived store (Redis, or in-process when embedded): authorization codes,
// interactions, sessions, opaque access tokens, client-credentials tokens, PAR, replay detection.
import type { ShortLivedStore } from '../src/store/types.js';
import type { Sealer } from '../src/crypto/seal.js';
import type { TokenHasher } from '../src/crypto/token-hash.js';
import { grantIndexKey, storeKeyFor } from '../src/store/keys.js';
import { epochNow, fromStored, toStored, type Payload } from '../src/store/payload.js';

export interface StoreAdapterDeps {
  store: ShortLivedStore;
  hash: TokenHasher;
  /** Seals the payloads of the models in SEALED_MODELS. */
  sealer: Sealer;
}

// An interaction's payload carries other artifacts' credentials: the browser session's id (`session.cookie`), its
// own id inside `returnTo`, a pushed request's id (`parJti`), a device code's handle, the authorization request's
// parameters. Hashing cannot keep them, since oidc-provider reads them back: the payload is sealed (AES-256-GCM,
// bound to its storage key) instead, and the session id, which nothing reads back, is not written at all.
const SEALED_MODELS = new Set(['Interaction']);

function withoutSessionCookie(payload: Payload): Payload {
  const session = payload.session as Record<string, unknown> | undefined;
  if (!session || typeof session !== 'object' || !('cookie' in session)) return payload;
  const { cookie: _cookie, ...rest } = session;
  return { ...payload, session: rest };
}

export class StoreAdapter {
  readonly #model: string;
  readonly #deps: StoreAdapterDeps;

  constructor(model: string, deps: StoreAdapterDeps) {
    this.#model = model;
    this.#deps = deps;
  }

  key(id: string) {
    return storeKeyFor(this.#deps.hash, this.#model, id);
  }

  #uidKey(uid: string) {
    return `oidc:${this.#model}:uid:${this.#deps.hash(uid)}`;
  }

  async upsert(id: string, payload: Payload, expiresIn?: number) {
    return this.upsertAt(this.key(id), payload, expiresIn);
  }

  /** Writes a payload under a storage key (with its grant and uid indexes). */
  protected async upsertAt(key: string, payload: Payload, expiresIn?: number) {
    const { store, hash } = this.#deps;
    // Sent together (one pipelined round trip on Redis), the artifact first. Should an index write fail, the
    // upsert fails and the artifact is never handed out, as when the writes went one after another.
    const writes = [store.set(key, this.#serialize(key, payload), expiresIn)];
    if (payload.grantId) writes.push(store.addToSet(grantIndexKey(hash, payload.grantId), key, expiresIn));
    if (payload.uid) writes.push(store.set(this.#uidKey(payload.uid), key, expiresIn));
    await Promise.all(writes);
  }

  async find(id: string) {
    return this.#read(this.key(id), id);
  }

  /**
   * Sessions by uid. The stored session does not hold its raw id (the cookie value), so the returned payload has
   * no `jti`; oidc-provider only reads sessions found this way (interaction and session-binding checks).
   */
  async findByUid(uid: string) {
    const key = await this.#deps.store.get(this.#uidKey(uid));
    return key ? this.#read(key, undefined) : undefined;
  }

  async findByUserCode(_userCode?: string): Promise<Payload | undefined> {
    return undefined; // only device codes have user codes (device-code-adapter.ts)
  }

  /** The payload stored under a key; `id` (when known) is restored as its jti. */
  protected readAt(key: string, id: string | undefined) {
    return this.#read(key, id);
  }

  #serialize(key: string, payload: Payload): string {
    if (!SEALED_MODELS.has(this.#model)) return JSON.stringify(toStored(payload));
    return this.#deps.sealer.seal(JSON.stringify(toStored(withoutSessionCookie(payload))), key);
  }

  #deserialize(key: string, value: string): Payload | undefined {
    if (!SEALED_MODELS.has(this.#model)) return JSON.parse(value) as Payload;
    try {
      return JSON.parse(this.#deps.sealer.open(value, key)) as Payload;
    } catch {
      return undefined; // sealed under another secret, or not sealed (written before sealing): gone, as if expired
    }
  }

  async #read(key: string, id: string | undefined): Promise<Payload | undefined> {
    const { store } = this.#deps;
    const [value, consumed] = await store.getMany([key, `${key}#consumed`]);
    if (!value) return undefined;
    const stored = this.#deserialize(key, value);
    return stored && fromStored(stored, id, consumed === null ? null : Number(consumed));
  }

  /** Atomic: of any number of racing callers, one gets true. */
  async consume(id: string) {
    return this.consumeAt(this.key(id));
  }

  protected consumeAt(key: string) {
    return this.#deps.store.consume(key, epochNow());
  }

  async destroy(id: string) {
    return this.destroyAt(this.key(id));
  }

  protected destroyAt(key: string) {
    return this.#deps.store.delete(key, `${key}#consumed`);
  }

  async revokeByGrantId(grantId: string) {
    return revokeStoreGrant(this.#deps, grantId);
  }
}

/** Deletes every short-lived artifact of a grant, whatever its model (they share one index per grant). */
export async function revokeStoreGrant({ store, hash }: StoreAdapterDeps, grantId: string): Promise<void> {
  const index = grantIndexKey(hash, grantId);
  const keys = await store.setMembers(index);
  await store.delete(...keys, ...keys.map((k) => `${k}#consumed`), index);
}
