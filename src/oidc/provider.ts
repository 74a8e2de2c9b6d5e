// Builds the oidc-provider instance from its dependencies.
import Provider from 'oidc-provider';

import { createFindAccount } from '../accounts/accounts.js';
import type { Config } from '../config.js';
import type { TokenHasher } from '../crypto/token-hash.js';
import type { PrismaClient } from '../db/generated/client.js';
import type { Logger } from '../observability/logger.js';
import type { AdapterFactory } from '../../adapters/index.js';
import { buildConfiguration } from './configuration.js';
import { listenToProvider } from './events.js';
import { createRefreshTokenGrant, grantType as refreshGrantType, parameters as refreshParameters, type RefreshGrantDeps } from './grants/refresh-token.js';
import { compareHashedClientSecrets } from './internals.js';
import type { SigningKeys } from './keys.js';

export interface ProviderDeps {
  config: Config;
  prisma: PrismaClient;
  adapter: AdapterFactory;
  keys: SigningKeys;
  cookieKeys: string[];
  hash: TokenHasher;
  logger: Logger;
  refreshGrant: Omit<RefreshGrantDeps, 'provider'>;
}

export function createProvider(deps: ProviderDeps): Provider {
  const { config, prisma, adapter, keys, cookieKeys, hash, logger, refreshGrant } = deps;
  const provider = new Provider(
    config.issuer,
    buildConfiguration({ config, adapter, keys, cookieKeys, findAccount: createFindAccount(prisma) }),
  );
  provider.proxy = config.trustProxy;
  compareHashedClientSecrets(provider, hash);
  // Replaces oidc-provider's own refresh_token grant (families, grace window, reuse detection).
  provider.registerGrantType(refreshGrantType, createRefreshTokenGrant({ provider, ...refreshGrant }), refreshParameters);
  listenToProvider(provider, logger);
  return provider;
}
