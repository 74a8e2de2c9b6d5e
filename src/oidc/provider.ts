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
import {
  allowOmittingRedirectUriWithPkce, compareHashedClientSecrets, correctTokenEndpointErrors, makeReplayDetectionAtomic, restrictLoopbackPortsToNativePublicClients,
} from './internals.js';
import { createIntrospectionPolicy } from './introspection-policy.js';
import { answerForJwtAccessTokens } from './jwt-access-tokens.js';
import { createNotBeforeCheck } from '../accounts/not-before.js';
import { createResourceServers } from '../clients/resource-servers.js';
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
  const resourceServers = createResourceServers(prisma);
  const notBefore = createNotBeforeCheck(prisma);
  const introspectionPolicy = createIntrospectionPolicy({ resourceServers, notBefore });
  correctTokenEndpointErrors(); // before `new Provider`: it patches the endpoint stacks the router is built from
  const provider = new Provider(
    config.issuer,
    buildConfiguration({ config, adapter, keys, cookieKeys, findAccount: createFindAccount(prisma, notBefore), resourceServers, introspectionPolicy, notBefore }),
  );
  provider.proxy = config.trustProxy;
  compareHashedClientSecrets(provider, hash);
  makeReplayDetectionAtomic(provider, refreshGrant.store, hash);
  restrictLoopbackPortsToNativePublicClients(provider);
  allowOmittingRedirectUriWithPkce(provider);
  // Replaces oidc-provider's own refresh_token grant (families, grace window, reuse detection).
  // `resource` (RFC 8707) may be repeated, as oidc-provider allows for its own grants.
  provider.registerGrantType(refreshGrantType, createRefreshTokenGrant({ provider, ...refreshGrant }), [...refreshParameters, 'resource'], ['resource']);
  const publicKeys = keys.jwks.keys.map(({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub }) => pub);
  provider.use(answerForJwtAccessTokens({ provider, adapter, jwks: publicKeys, policy: introspectionPolicy }));
  listenToProvider(provider, logger);
  return provider;
}
