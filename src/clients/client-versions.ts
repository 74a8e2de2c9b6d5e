// Instances cache client lookups (adapters/client-adapter.ts). A change to a client is announced twice: as a
// message on the store's CLIENT_CHANGED channel, which every instance's cache listens to (no store read per
// lookup while that subscription is live), and as a new version in the store, which an instance whose
// subscription is down compares before trusting a cached copy. Either way a rotated secret or a deleted client is
// refused everywhere at once. Without a shared store (the embedded default, changed from the CLI), the cache
// lifetime bounds the delay.
import { randomUUID } from 'node:crypto';

import type { ShortLivedStore } from '../store/types.js';

export const clientVersionKey = (clientId: string) => `client:version:${clientId}`;
export const CLIENT_CHANGED = 'client:changed';

// Longer than any cache lifetime: an expired version reads as a change, which only costs one lookup.
const VERSION_TTL_SECONDS = 86_400;

/** The version first: an instance told by the message that reads the store finds the new version there too. */
export async function markClientChanged(store: ShortLivedStore, clientId: string): Promise<void> {
  await store.set(clientVersionKey(clientId), randomUUID(), VERSION_TTL_SECONDS);
  await store.publish(CLIENT_CHANGED, clientId);
}
