// What the admin API is built from: all of it exists already in createApp (src/app.ts).
import type Provider from 'oidc-provider';

import type { Audit } from '../audit/audit.js';
import type { TokenHasher } from '../crypto/token-hash.js';
import type { Account, PrismaClient } from '../db/generated/client.js';
import type { Families } from '../families/families.js';
import type { KeyRing } from '../oidc/key-ring.js';

export interface AdminDeps {
  /** Sends the verification link after a user got a new email address (src/accounts/recovery.ts). */
  emailChanged?: ((account: Account) => Promise<void>) | undefined;
  prisma: PrismaClient;
  hash: TokenHasher;
  families: Families;
  audit: Audit;
  provider: Provider;
  /** Announces a client that just changed to every instance's client cache. */
  invalidateClient(clientId: string): Promise<void>;
  /** Signing keys: POST /admin/keys/rotate. */
  signingKeys: KeyRing;
}
