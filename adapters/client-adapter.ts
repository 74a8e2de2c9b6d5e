// Clients as oidc-provider sees them, read from the `clients` table. The secret column holds an HMAC of the
// secret; it is handed to oidc-provider as `client_secret` and compared by the override in src/oidc/internals.ts,
// which hashes the presented secret first. Symmetric (HS*) algorithms are disabled in the provider configuration,
// since they would need the raw secret.
import type { PrismaClient } from '../src/db/generated/client.js';
import { findClient } from '../src/clients/client-queries.js';
import { CLIENT_CHANGED, clientVersionKey } from '../src/clients/client-versions.js';
import { BUILT_IN_SCOPE_SET } from '../src/clients/scopes.js';
import type { RegisteredClients } from '../src/registration/registered-clients.js';
import type { ShortLivedStore, Subscription } from '../src/store/types.js';

const CLIENT_ID = /^[\x21-\x7e]{1,255}$/;
const MAX_CACHED = 10_000;

type Metadata = Record<string, unknown>;

/**
 * oidc-provider refuses, as invalid_client_metadata on every request, a client whose `scope` names a scope outside
 * its static list. API scopes in a client's scope are accepted at registration when an API defines them, but they
 * are obtained through allowances (src/clients/allowances.ts), never through this list: they are left out here.
 * oidc-provider refuses an empty scope too, and reads an absent one as "every built-in scope": a client that names
 * no built-in scope may request `openid` only, which adds nothing to what the code flow already establishes.
 */
function forProvider(metadata: Metadata): Metadata {
  if (typeof metadata.scope !== 'string') return metadata;
  const builtIn = metadata.scope.split(' ').filter((s) => BUILT_IN_SCOPE_SET.has(s));
  return { ...metadata, scope: builtIn.length ? builtIn.join(' ') : 'openid' };
}

/**
 * Every client-authenticated request looks its client up, so lookups are cached for `cacheSeconds` (the
 * benchmark showed the lookup dominating client_credentials). A cached copy is trusted without asking anyone
 * while the subscription to client changes is live and was made in its epoch; otherwise only while the client's
 * version in the store is unchanged (src/clients/client-versions.ts), one store read per lookup.
 */
export class ClientAdapter {
  readonly #prisma: PrismaClient;
  readonly #store: ShortLivedStore;
  readonly #cacheMs: number;
  readonly #cache = new Map<
    string,
    { value: Metadata | undefined; until: number; version?: string | null; epoch?: number }
  >();
  #changes: Subscription | undefined;
  /** Counts announced changes, so that a lookup overtaken by one does not cache what it read before it. */
  #changesSeen = 0;
  readonly #listeners: ((clientId: string) => void)[] = [];

  readonly #registered: RegisteredClients | undefined;
  readonly #changed: (clientId: string) => Promise<void>;

  constructor(
    prisma: PrismaClient,
    store: ShortLivedStore,
    cacheSeconds = 0,
    registered?: RegisteredClients,
    changed: (clientId: string) => Promise<void> = async () => {},
  ) {
    this.#prisma = prisma;
    this.#store = store;
    this.#cacheMs = cacheSeconds * 1000;
    this.#registered = registered;
    this.#changed = changed;
  }

  /** Listens to client changes announced by any instance (or the CLI); until then every lookup reads the version. Closed with the store. */
  async watchChanges(): Promise<void> {
    if (this.#cacheMs > 0 && !this.#changes)
      this.#changes = await this.#store.subscribe(CLIENT_CHANGED, (clientId) => this.invalidate(clientId));
  }

  invalidate(clientId: string): void {
    this.#changesSeen += 1;
    this.#cache.delete(clientId);
    for (const listener of this.#listeners) listener(clientId);
  }

  /** Calls `listener` with each client change, local or announced (caches of what depends on clients). */
  onChange(listener: (clientId: string) => void): void {
    this.#listeners.push(listener);
  }

  async find(clientId: string) {
    // Client ids come straight from requests; PostgreSQL refuses some text (NUL bytes), which must read as "no
    // such client", not as a failure.
    if (typeof clientId !== 'string' || !CLIENT_ID.test(clientId)) return undefined;
    const changes = this.#changes?.live ? this.#changes : undefined;
    const epoch = changes?.epoch;
    const seen = this.#changesSeen;
    let version: string | null | undefined;
    if (this.#cacheMs > 0) {
      const hit = this.#cache.get(clientId);
      const fresh = hit !== undefined && hit.until > Date.now();
      if (changes) {
        if (fresh && hit.epoch === epoch) return hit.value;
      } else {
        version = await this.#store.get(clientVersionKey(clientId));
        if (fresh && hit.version === version) return hit.value;
      }
    }
    const row = await findClient(this.#prisma, clientId);
    const value: Metadata | undefined = row
      ? {
          ...forProvider(row.metadata as Metadata),
          client_id: row.clientId,
          ...(row.secretHash ? { client_secret: row.secretHash } : undefined),
        }
      : undefined;
    if (this.#cacheMs > 0 && this.#changesSeen === seen) {
      if (this.#cache.size >= MAX_CACHED) this.#cache.delete(this.#cache.keys().next().value!);
      // Trusted later by the same rule it was read under: an epoch, or a version (read before the row).
      this.#cache.set(
        clientId,
        changes
          ? { value, until: Date.now() + this.#cacheMs, epoch }
          : { value, until: Date.now() + this.#cacheMs, version },
      );
    }
    return value;
  }

  // oidc-provider writes clients only through its registration endpoints (RFC 7591/7592), when they are enabled;
  // every other change goes through the CLI and the admin API.
  async upsert(clientId: string, metadata: Metadata): Promise<void> {
    if (!this.#registered) throw new Error('clients are read-only to oidc-provider');
    await this.#registered.save(clientId, metadata);
    await this.#changed(clientId);
  }

  async destroy(clientId: string): Promise<void> {
    if (!this.#registered) throw new Error('clients are read-only to oidc-provider');
    await this.#registered.remove(clientId);
    await this.#changed(clientId);
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  async consume(): Promise<void> {}

  async revokeByGrantId(): Promise<void> {}
}
