// The signing keys of a running instance, kept current without a restart. A rotation (CLI or admin API) is
// announced on the store's `signing-keys` channel; every instance then reloads the keys from the database and swaps
// them into oidc-provider, so the next key is published in the JWKS at once. The switch to signing with it happens
// when its activation time comes: each instance sets a timer for the next change it loaded. A periodic reload covers
// a missed announcement (the subscription was down, or an embedded server whose CLI has no store to announce on).
import type Provider from 'oidc-provider';

import type { Sealer } from '../crypto/seal.js';
import type { PrismaClient } from '../db/generated/client.js';
import type { Logger } from '../observability/logger.js';
import type { ShortLivedStore, Subscription } from '../store/types.js';
import { replaceSigningKeys } from './internals.js';
import {
  loadSigningKeys,
  rotateSigningKey,
  SIGNING_ALGS,
  type Rotation,
  type SigningAlg,
  type SigningKeys,
} from './keys.js';

export const SIGNING_KEYS_CHANGED = 'signing-keys';
const RELOAD_EVERY_MS = 60_000;

export interface KeyRingOptions {
  prisma: PrismaClient;
  sealer: Sealer;
  store: ShortLivedStore;
  logger: Logger;
  alg: SigningAlg;
  publishSeconds: number;
  activationDelaySeconds: number;
}

export interface KeyRing {
  /** The keys loaded last (oidc-provider's `jwks` at construction). */
  readonly current: SigningKeys;
  /** Starts following announcements and activations for `provider`. */
  attach(provider: Provider): Promise<void>;
  /** Rotates (every algorithm, or one), reloads this instance and announces it to the others. */
  rotate(alg?: SigningAlg): Promise<Rotation[]>;
  reload(): Promise<void>;
  close(): Promise<void>;
}

/** Tells running instances that the signing keys changed (the CLI's side of the announcement). */
export async function announceSigningKeyChange(store: ShortLivedStore): Promise<void> {
  await store.publish(SIGNING_KEYS_CHANGED, String(Date.now()));
}

export async function createKeyRing(options: KeyRingOptions): Promise<KeyRing> {
  const { prisma, sealer, store, logger, alg, publishSeconds, activationDelaySeconds } = options;
  const load = () => loadSigningKeys(prisma, sealer, alg, publishSeconds);
  let current = await load();
  let provider: Provider | undefined;
  let subscription: Subscription | undefined;
  let activation: NodeJS.Timeout | undefined;
  let closed = false;

  const schedule = (at: Date | undefined) => {
    clearTimeout(activation);
    if (!at || closed) return;
    // +50 ms: the activation time has passed when the reload reads the keys.
    activation = setTimeout(() => void reload(), Math.min(2 ** 31 - 1, Math.max(0, at.getTime() - Date.now()) + 50));
    activation.unref();
  };

  let reloading: Promise<void> | undefined;
  async function reload(): Promise<void> {
    if (closed) return;
    // Reloads that arrive while one runs wait for it and run once more: the last one reads the latest state.
    const run = async () => {
      current = await load();
      if (provider) replaceSigningKeys(provider, current.jwks);
      schedule(current.nextChangeAt);
    };
    const next = (reloading ?? Promise.resolve()).catch(() => {}).then(run);
    reloading = next;
    try {
      await next;
    } catch (err) {
      logger.warn({ err }, 'signing keys could not be reloaded; keeping the loaded ones');
    }
  }

  const periodic = setInterval(() => void reload(), RELOAD_EVERY_MS);
  periodic.unref();

  return {
    get current() {
      return current;
    },
    async attach(p) {
      provider = p;
      schedule(current.nextChangeAt);
      subscription = await store.subscribe(SIGNING_KEYS_CHANGED, () => void reload());
    },
    async rotate(only) {
      const rotations: Rotation[] = [];
      for (const each of only ? [only] : SIGNING_ALGS)
        rotations.push(await rotateSigningKey(prisma, sealer, each, activationDelaySeconds));
      await reload();
      await announceSigningKeyChange(store).catch((err: unknown) =>
        logger.warn({ err }, 'key rotation not announced; other instances reload within a minute'),
      );
      return rotations;
    },
    reload,
    async close() {
      closed = true;
      clearInterval(periodic);
      clearTimeout(activation);
      await subscription?.close();
    },
  };
}
