// Instances cache client lookups (adapters/client-adapter.ts). A change to a client is announced by a new version
// in the short-lived store, which every instance compares before trusting its cached copy: one store read instead
// of a database query, and a rotated secret or a deleted client refused everywhere at once. Without a shared store
// (the embedded default, changed from the CLI), the cache lifetime bounds the delay.
import { randomUUID } from 'node:crypto';

import type { ShortLivedStore } from '../store/types.js';

export const clientVersionKey = (clientId: string) => `client:version:${clientId}`;

// Longer than any cache lifetime: an expired version reads as a change, which only costs one lookup.
const VERSION_TTL_SECONDS = 86_400;

export function markClientChanged(store: ShortLivedStore, clientId: string): Promise<void> {
  return store.set(clientVersionKey(clientId), randomUUID(), VERSION_TTL_SECONDS);
}
