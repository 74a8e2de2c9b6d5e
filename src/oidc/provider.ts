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
import { createDeviceCodeGrant, grantType as deviceGrantType } from './grants/device-code.js';
import {
  createTokenExchangeGrant,
  duplicates as tokenExchangeDuplicates,
  grantType as tokenExchangeGrantType,
  parameters as tokenExchangeParameters,
} from './grants/token-exchange.js';
import { createAccessTokenStatus } from './access-token-status.js';
import { formPostRenderer } from './form-post.js';
import {
  createRefreshTokenGrant,
  grantType as refreshGrantType,
  parameters as refreshParameters,
  type RefreshGrantDeps,
} from './grants/refresh-token.js';
import {
  allowOmittingRedirectUriWithPkce,
  compareHashedClientSecrets,
  correctTokenEndpointErrors,
  makeReplayDetectionAtomic,
  replaceResponseMode,
  restrictLoopbackPortsToNativePublicClients,
  publishedSigningKeys,
} from './internals.js';
import { createIntrospectionPolicy } from './introspection-policy.js';
import { answerForJwtAccessTokens } from './jwt-access-tokens.js';
import { createNotBeforeCheck, loadAccountState } from '../accounts/not-before.js';
import type { AllowanceLookup } from '../clients/allowances.js';
import type { ResourceServerLookup } from '../clients/resource-servers.js';
import { createResourceServerInfo } from './resource-access.js';
import type { SigningKeys } from './keys.js';
import type { Theme } from '../../views/theme.js';

export interface ProviderDeps {
  config: Config;
  prisma: PrismaClient;
  adapter: AdapterFactory;
  keys: SigningKeys;
  cookieKeys: string[];
  hash: TokenHasher;
  logger: Logger;
  refreshGrant: Omit<RefreshGrantDeps, 'provider' | 'allowances'>;
  resourceServers: ResourceServerLookup;
  allowances: AllowanceLookup;
  /** The brand's look, for the pages oidc-provider asks for (errors, logout, device flow, form_post). */
  theme: Theme;
}

export function createProvider(deps: ProviderDeps): Provider {
  const { config, prisma, adapter, keys, cookieKeys, hash, logger, refreshGrant, resourceServers, allowances, theme } =
    deps;
  const notBefore = createNotBeforeCheck(prisma, refreshGrant.families.mirror);
  const clientExists = async (clientId: string) => (await adapter('Client').find(clientId)) !== undefined;
  const introspectionPolicy = createIntrospectionPolicy({ resourceServers, notBefore, clientExists });
  const getResourceServerInfo = createResourceServerInfo({
    resourceServers,
    allowances,
    accessTokenTtl: config.accessTokenTtl,
    signingAlg: config.signingKeyAlg,
  });
  correctTokenEndpointErrors(); // before `new Provider`: it patches the endpoint stacks the router is built from
  const provider = new Provider(
    config.issuer,
    buildConfiguration({
      config,
      theme,
      adapter,
      keys,
      cookieKeys,
      findAccount: createFindAccount(prisma, notBefore),
      getResourceServerInfo,
      introspectionPolicy,
      notBefore,
    }),
  );
  provider.proxy = config.trustProxy;
  compareHashedClientSecrets(provider, hash);
  makeReplayDetectionAtomic(provider, refreshGrant.store, hash);
  restrictLoopbackPortsToNativePublicClients(provider);
  allowOmittingRedirectUriWithPkce(provider);
  replaceResponseMode(provider, 'form_post', formPostRenderer(theme));
  // Replaces oidc-provider's own refresh_token grant (families, grace window, reuse detection).
  // `resource` (RFC 8707) may be repeated, as oidc-provider allows for its own grants.
  provider.registerGrantType(
    refreshGrantType,
    createRefreshTokenGrant({ provider, allowances, ...refreshGrant }),
    [...refreshParameters, 'resource'],
    ['resource'],
  );
  // Replaces oidc-provider's own device_code grant registration: the same grant, with polling paced (slow_down).
  const deviceGrant = createDeviceCodeGrant({ provider, store: refreshGrant.store, hash });
  provider.registerGrantType(
    deviceGrantType,
    deviceGrant.handler,
    [...deviceGrant.parameters, 'resource'],
    ['resource'],
  );
  // The keys published right now: a rotation swaps them in while the server runs (src/oidc/key-ring.ts).
  const status = createAccessTokenStatus({
    provider,
    adapter,
    store: refreshGrant.store,
    hash,
    mirror: refreshGrant.families.mirror,
    loadAccountState: (accountId) => loadAccountState(prisma, accountId),
    jwks: () => publishedSigningKeys(provider).keys,
    policy: introspectionPolicy,
  });
  // RFC 8693 token exchange, a grant oidc-provider does not have (also advertised in grant_types_supported).
  const tokenExchange = createTokenExchangeGrant({
    provider,
    status,
    getResourceServerInfo,
    audit: refreshGrant.audit,
  });
  provider.registerGrantType(tokenExchangeGrantType, tokenExchange, tokenExchangeParameters, tokenExchangeDuplicates);
  provider.use(answerForJwtAccessTokens({ adapter, status }));
  listenToProvider(provider, logger);
  return provider;
}
