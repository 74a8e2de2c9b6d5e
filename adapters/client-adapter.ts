// Clients as oidc-provider sees them, read from the `clients` table. The secret column holds an HMAC of the
// secret; it is handed to oidc-provider as `client_secret` and compared by the override in src/oidc/internals.ts,
// which hashes the presented secret first. Symmetric (HS*) algorithms are disabled in the provider configuration,
// since they would need the raw secret.
import type { PrismaClient } from '../src/db/generated/client.js';
import { asDependencyError } from '../src/errors.js';

const CLIENT_ID = /^[\x21-\x7e]{1,255}$/;

export class ClientAdapter {
  readonly #prisma: PrismaClient;

  constructor(prisma: PrismaClient) {
    this.#prisma = prisma;
  }

  async find(clientId: string) {
    // Client ids come straight from requests; PostgreSQL refuses some text (NUL bytes), which must read as "no
    // such client", not as a failure.
    if (typeof clientId !== 'string' || !CLIENT_ID.test(clientId)) return undefined;
    try {
      const row = await this.#prisma.client.findUnique({ where: { clientId } });
      if (!row) return undefined;
      return {
        ...(row.metadata as Record<string, unknown>),
        client_id: row.clientId,
        ...(row.secretHash ? { client_secret: row.secretHash } : undefined),
      };
    } catch (err) {
      return asDependencyError(err);
    }
  }

  // Clients are managed through the CLI and the admin API, never through oidc-provider.
  async upsert(): Promise<void> {
    throw new Error('clients are read-only to oidc-provider');
  }

  async destroy(): Promise<void> {
    throw new Error('clients are read-only to oidc-provider');
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
