// The adapter factory handed to oidc-provider: it routes each model to the durable database or to the
// short-lived store (the storage split of docs/architecture.md), and makes consuming single-use artifacts atomic.
import type { PrismaClient } from '../src/db/generated/client.js';
import type { Sealer } from '../src/crypto/seal.js';
import type { TokenHasher } from '../src/crypto/token-hash.js';
import type { SqlRunner } from '../src/db/sql.js';
import type { Families } from '../src/families/families.js';
import type { TokenSnapshots } from '../src/families/token-snapshots.js';
import { InvalidGrant } from '../src/errors.js';
import type { RegisteredClients } from '../src/registration/registered-clients.js';
import type { GrantState } from '../src/store/mirror.js';
import type { ShortLivedStore } from '../src/store/types.js';
import { markClientChanged } from '../src/clients/client-versions.js';
import { ClientAdapter } from './client-adapter.js';
import { DeviceCodeAdapter } from './device-code-adapter.js';
import type { Payload } from '../src/store/payload.js';
import { GrantAdapter } from './grant-adapter.js';
import { RefreshTokenAdapter } from './refresh-token-adapter.js';
import { revokeStoreGrant, StoreAdapter } from './store-adapter.js';

/** Models whose loss would log users out: grants (generic payload table) and refresh tokens (families). */
export const DURABLE_MODELS = new Set(['Grant', 'RefreshToken', 'RegistrationAccessToken']);

export interface AdapterDeps {
  prisma: PrismaClient;
  sql: SqlRunner;
  store: ShortLivedStore;
  hash: TokenHasher;
  /** Seals the short-lived payloads that carry other artifacts' credentials (interactions). */
  sealer: Sealer;
  families: Families;
  /** Refresh tokens' snapshots (written at issue; the refresh grant reads them), shared with the grant. */
  snapshots: TokenSnapshots;
  accessTokenTtl: number;
  /** How long client lookups are cached (0: not at all). */
  clientCacheSeconds?: number;
  /** Where clients registered through oidc-provider (RFC 7591/7592) are written; without it clients are read-only. */
  registeredClients?: RegisteredClients;
}

export interface Adapter {
  upsert(id: string, payload: Payload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<Payload | undefined>;
  findByUid(uid: string): Promise<Payload | undefined>;
  findByUserCode(userCode: string): Promise<Payload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

type Backend = StoreAdapter | GrantAdapter | RefreshTokenAdapter;

export interface AdapterFactory {
  (model: string): Adapter;
  /** What introspection needs of a grant (client, account, expiry), from the store's copy when it has one. */
  grantState(grantId: string): Promise<GrantState | undefined>;
  /** The same from PostgreSQL alone (null: gone), to fill the store's copy. */
  loadGrantState(grantId: string): Promise<GrantState | null>;
  /** Revokes every artifact of a grant in both stores, and the grant itself. */
  revokeGrant(grantId: string): Promise<void>;
  /** Announces a changed client (secret rotated, updated, deleted) to every instance's cache. */
  invalidateClient(clientId: string): Promise<void>;
  /** Starts listening to such announcements (a server does; a one-off CLI command need not). */
  watchClientChanges(): Promise<void>;
  /** Calls `listener` with the client_id of each change, local or announced ('*': every client). */
  onClientChanged(listener: (clientId: string) => void): void;
}

export function createAdapterFactory(deps: AdapterDeps): AdapterFactory {
  const backends = new Map<string, Backend>();
  const backendFor = (model: string): Backend => {
    let backend = backends.get(model);
    if (!backend) {
      if (model === 'RefreshToken')
        backend = new RefreshTokenAdapter(deps.families, deps.store, deps.hash, deps.accessTokenTtl, deps.snapshots);
      else if (DURABLE_MODELS.has(model)) backend = new GrantAdapter(model, { ...deps, mirror: deps.families.mirror });
      else if (model === 'DeviceCode') backend = new DeviceCodeAdapter(deps);
      else backend = new StoreAdapter(model, deps);
      backends.set(model, backend);
    }
    return backend;
  };

  async function revokeGrant(grantId: string) {
    await Promise.all([
      revokeStoreGrant(deps, grantId),
      backendFor('RefreshToken').revokeByGrantId(grantId),
      backendFor('Grant').destroy(grantId),
    ]);
  }

  // A registered client changed (RFC 7592): every instance's cached copy goes, as for an admin's change.
  const announce = async (clientId: string) => {
    clients.invalidate(clientId);
    await markClientChanged(deps.store, clientId);
  };
  const clients: ClientAdapter = new ClientAdapter(
    deps.prisma,
    deps.store,
    deps.clientCacheSeconds ?? 0,
    deps.registeredClients,
    announce,
  );
  const adapters = new Map<string, Adapter>();

  const factory = (model: string): Adapter => {
    if (model === 'Client') return clients as unknown as Adapter;
    let adapter = adapters.get(model);
    if (adapter) return adapter;
    const backend = backendFor(model);
    adapter = {
      upsert: (id, payload, expiresIn) => backend.upsert(id, payload, expiresIn),
      find: (id) => backend.find(id),
      findByUid: (uid) => backend.findByUid(uid),
      findByUserCode: (userCode) => backend.findByUserCode(userCode),
      destroy: (id) => backend.destroy(id),
      revokeByGrantId: (grantId) => backend.revokeByGrantId(grantId),
      // oidc-provider checks `consumed` and then consumes: two racing requests can both pass the check. The write
      // here is the real gate; the loser is a replay, and a replayed code or refresh token revokes its grant.
      async consume(id) {
        if (await backend.consume(id)) return;
        const payload = await backend.find(id);
        if (payload?.grantId) await revokeGrant(payload.grantId);
        throw new InvalidGrant(`${model === 'AuthorizationCode' ? 'authorization code' : 'token'} already used`);
      },
    };
    adapters.set(model, adapter);
    return adapter;
  };
  const invalidateClient = announce;
  return Object.assign(factory, {
    revokeGrant,
    grantState: (grantId: string) => (backendFor('Grant') as GrantAdapter).findState(grantId),
    loadGrantState: (grantId: string) => (backendFor('Grant') as GrantAdapter).loadState(grantId),
    invalidateClient,
    watchClientChanges: () => clients.watchChanges(),
    onClientChanged: (listener: (clientId: string) => void) => clients.onChange(listener),
  });
}
