// createApp(deps): the Koa application. Middleware order, outermost first:
//   request logger → request metrics → error handler → security headers → health → admin → interactions →
//   oidc-provider.
// Nothing here reads the environment or opens connections: everything arrives in `deps`, so a test can build an
// app against its own database and store.
import Koa from 'koa';
import compose from 'koa-compose';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';

import { createAdapterFactory, type AdapterFactory } from '../adapters/index.js';
import type { Config } from './config.js';
import { NotFound } from './errors.js';
import { createSealer } from './crypto/seal.js';
import type { DerivedKeys } from './crypto/secrets.js';
import { createTokenHasher, type TokenHasher } from './crypto/token-hash.js';
import type { Database } from './db/database.js';
import { createAccountRouter } from './http/account/router.js';
import { createRecoveryRouter } from './http/account/recovery-router.js';
import { verificationHook, type RecoveryDeps } from './accounts/recovery.js';
import { createMailer } from './mail/mailer.js';
import { createAdminApi, isAdminPath } from './admin/router.js';
import { createSignInGate } from './accounts/sign-in-gate.js';
import { createAudit } from './audit/audit.js';
import { createAnomalyDetector, SIGNALS } from './anomalies/detector.js';
import { createGeolocator } from './anomalies/geolocation.js';
import { createAllowanceLookup, type AllowanceLookup } from './clients/allowances.js';
import { createResourceServerLookup } from './clients/resource-servers.js';
import type { Families } from './families/families.js';
import { GraceCache } from './families/grace-cache.js';
import { snapshotMaxSeconds, TokenSnapshots } from './families/token-snapshots.js';
import { bodyLimit } from './http/body-limit.js';
import { createCsrf } from './request/csrf.js';
import { redirectFormPostsToGet } from './http/post-to-get.js';
import { errorHandler } from './http/error-handler.js';
import { forPaths, oneOf, under } from './http/for-paths.js';
import { createHealthRouter } from './http/health.js';
import { securityHeaders } from './http/security-headers.js';
import { createLoginLimiter, endpointLimits } from './security/rate-limits.js';
import type { Logger } from './observability/logger.js';
import { createMetrics, instrumentStore, type Metrics } from './observability/metrics.js';
import { createMetricsRouter, requestMetrics, type MetricsSource } from './observability/metrics-http.js';
import { requestLogger, type TraceIds } from './observability/request-logger.js';
import { withRequestContext } from './request/context.js';
import { createInteractionRouter } from './oidc/interactions.js';
import { createKeyRing, type KeyRing } from './oidc/key-ring.js';
import { deviceRoutes, isDevicePath } from './oidc/device-routes.js';
import { createProvider } from './oidc/provider.js';
import { routeBackchannelLogoutsToQueue } from './oidc/internals.js';
import { enqueueLogout } from './logout/queue.js';
import { createBackchannelWorker, type BackchannelWorker } from './logout/worker.js';
import { isRegistrationPath, registrationGate } from './registration/gate.js';
import { createRegisteredClients } from './registration/registered-clients.js';
import { createFamilies } from './services.js';
import type { ShortLivedStore } from './store/types.js';
import { createTheme, type Theme } from '../views/theme.js';

export interface AppDeps {
  config: Config;
  db: Database;
  store: ShortLivedStore;
  logger: Logger;
  keys: DerivedKeys;
  /** True once a graceful stop began: /readyz then answers 503 so load balancers stop sending traffic. */
  isDraining?: () => boolean;
  /** With tracing on (src/main.ts): the current trace's ids, for the request log. */
  traceIds?: TraceIds;
  /** What /metrics serves instead of this process's registry: a cluster worker serves every worker's sum. */
  metricsSource?: MetricsSource;
}

export interface App {
  koa: Koa;
  /** The admin API's own application, when ADMIN_PORT is set (src/boot.ts listens on it). */
  admin?: Koa;
  /** This instance's signing keys, kept current (rotations announced through the store, activations on time). */
  signingKeys: KeyRing;
  provider: Provider;
  adapter: AdapterFactory;
  hash: TokenHasher;
  families: Families;
  metrics: Metrics;
  /** Which API scopes a client may obtain (the lookup every grant makes). */
  allowances: AllowanceLookup;
  /** Delivers queued back-channel logouts; started by boot. */
  backchannel: BackchannelWorker;
}

const notHere: Koa.Middleware = () => {
  throw new NotFound();
};

/** The admin listener's application: the same outer layers as the public one, the admin API, and 404 elsewhere. */
function createAdminKoa({
  config,
  logger,
  metrics,
  adminApi,
  traceIds,
  theme,
}: {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  adminApi: Koa.Middleware;
  traceIds: TraceIds | undefined;
  theme: Theme;
}): Koa {
  const koa = new Koa({ proxy: config.trustProxy });
  koa.silent = true;
  koa.use(requestLogger(logger, traceIds));
  koa.use(requestMetrics(metrics));
  koa.use(errorHandler(logger, theme));
  koa.use(securityHeaders({ hsts: config.issuer.startsWith('https:'), theme }));
  koa.use(bodyLimit(64 * 1024));
  koa.use(forPaths(isAdminPath, adminApi));
  koa.use(notHere);
  return koa;
}

export async function createApp({
  config,
  db,
  store: rawStore,
  logger,
  keys,
  isDraining = () => false,
  traceIds,
  metricsSource,
}: AppDeps): Promise<App> {
  const metrics = createMetrics({ anomalySignals: SIGNALS });
  const theme = createTheme(config.brand); // once: the pages' style and its CSP hash
  const store = instrumentStore(rawStore, metrics);
  db.observeQueries((ms, failed) => metrics.observeDatabase(ms / 1000, failed));
  db.observeFailures((err) => metrics.dependencyFailed('database', err));
  const hash = createTokenHasher(keys.tokenHash);
  const sealer = createSealer(keys.seal, keys.sealPrevious);
  const audit = createAudit(db.prisma, logger);
  const families = createFamilies({ config, db, store, hash, audit, metrics });
  const geolocator = createGeolocator({
    onLoadError: (err) => logger.error({ err }, 'geolocation database unavailable: impossible_travel is not computed'),
  });
  const anomalies = createAnomalyDetector(config.anomalies, geolocator);
  const grace = new GraceCache(store, sealer, config.refreshReuseGrace);
  const snapshots = new TokenSnapshots(store, sealer, snapshotMaxSeconds(config.accessTokenTtl));
  const adapter = createAdapterFactory({
    prisma: db.prisma,
    sql: db.sql,
    store,
    hash,
    sealer,
    families,
    snapshots,
    accessTokenTtl: config.accessTokenTtl,
    clientCacheSeconds: config.clientCacheSeconds,
    registeredClients: createRegisteredClients({ prisma: db.prisma, hash, families, audit }),
  });
  // Allowances and APIs are cached like clients, and end their copies on the same announcements.
  const resourceServers = createResourceServerLookup(db.prisma, config.clientCacheSeconds);
  const allowances = createAllowanceLookup(db.prisma, config.clientCacheSeconds);
  adapter.onClientChanged((clientId) => {
    allowances.invalidate(clientId);
    resourceServers.invalidate(); // deleting a client deletes the API it stands for
  });
  await adapter.watchClientChanges();
  // Retired keys stay published as long as anything they signed may live: ID tokens (1 h) and access tokens.
  const signingKeys = await createKeyRing({
    prisma: db.prisma,
    sealer,
    store,
    logger,
    alg: config.signingKeyAlg,
    publishSeconds: Math.max(3600, config.accessTokenTtl) + 300,
    activationDelaySeconds: config.keyActivationDelaySeconds,
  });
  const provider = createProvider({
    config,
    prisma: db.prisma,
    adapter,
    keys: signingKeys.current,
    cookieKeys: keys.cookies,
    hash,
    logger,
    refreshGrant: {
      families,
      grace,
      audit,
      store,
      hash,
      metrics,
      anomalies,
      snapshots,
    },
    resourceServers,
    allowances,
    theme,
  });
  await signingKeys.attach(provider);

  // end_session's back-channel logouts go through the durable queue; the worker delivers them (and the others).
  const deliverLogout = routeBackchannelLogoutsToQueue(provider, async (clientId, sub, sid) => {
    await enqueueLogout(db.prisma, clientId, sub, sid, 'end_session');
    backchannel.wake();
  });
  const backchannel = createBackchannelWorker({
    prisma: db.prisma,
    logger,
    deliver: deliverLogout,
    maxAttempts: config.backchannelLogoutMaxAttempts,
  });

  // Behind TRUST_PROXY, the address every limit counts is the one our proxy appended to X-Forwarded-For (the last
  // entry): earlier entries are whatever the client sent, and would let it choose the address it is limited as.
  const koa = new Koa({ proxy: config.trustProxy, maxIpsCount: 1 });
  koa.keys = keys.cookies;
  koa.silent = true; // errors are logged by the error handler, with the request id

  const health = createHealthRouter(
    [
      { name: 'database', check: () => db.ping() },
      { name: 'store', check: () => store.ping() },
    ],
    isDraining,
  );
  const loginLimiter = config.rateLimitEnabled ? createLoginLimiter(store, config, metrics) : undefined;
  const csrf = createCsrf(keys.csrf, new URL(config.issuer).origin);
  const signInGate = createSignInGate({
    maxWaiting: config.loginHashQueueMax,
    perAddress: config.rateLimitEnabled ? config.rateLimits.loginConcurrentPerIp : Infinity,
  });
  const interactions = createInteractionRouter({
    provider,
    prisma: db.prisma,
    audit,
    csrf,
    loginLimiter,
    resourceServers,
    signInGate,
    hash,
    secureCookies: config.issuer.startsWith('https:'),
    theme,
  });

  // The logger and the metrics sit outside the error handler: they see the status actually sent, whatever threw.
  koa.use(requestLogger(logger, traceIds));
  koa.use(requestMetrics(metrics));
  koa.use(errorHandler(logger, theme));
  koa.use(withRequestContext); // adapters and token checks find the request here
  koa.use(securityHeaders({ hsts: config.issuer.startsWith('https:'), theme }));
  koa.use(bodyLimit(64 * 1024));
  if (config.rateLimitEnabled) koa.use(endpointLimits({ store, config, metrics })); // OAuth requests are small; the largest legitimate ones are JWT assertions
  koa.use(forPaths(oneOf('/healthz', '/readyz'), health.routes()));
  if (config.metrics.token)
    koa.use(
      forPaths(
        oneOf('/metrics'),
        createMetricsRouter(metricsSource ?? metrics.registry, config.metrics.token).routes(),
      ),
    );
  const mailer = createMailer(
    { smtpUrl: config.mail.smtpUrl, from: config.mail.from, dataDir: config.dataDir },
    logger,
  );
  const recovery: RecoveryDeps = {
    prisma: db.prisma,
    families,
    audit,
    hash,
    mailer,
    logger,
    issuer: config.issuer,
    brandName: config.brand.name,
  };
  const emailChanged = verificationHook(recovery);
  const adminApi = createAdminApi({
    prisma: db.prisma,
    hash,
    families,
    audit,
    provider,
    invalidateClient: adapter.invalidateClient,
    signingKeys,
    emailChanged,
  });
  // With ADMIN_PORT the admin API lives only on its own listener; here /admin is then as unknown as any path.
  koa.use(forPaths(isAdminPath, config.admin.port === undefined ? adminApi : notHere));
  const account = createAccountRouter({
    prisma: db.prisma,
    families,
    audit,
    hash,
    csrf,
    loginLimiter,
    ownName: 'Account page',
    theme,
  });
  const recoveryRouter = createRecoveryRouter({
    ...recovery,
    emailChanged,
    csrf,
    theme,
    limits: config.rateLimitEnabled ? { store, windowSeconds: 900 } : undefined,
  });
  koa.use(
    forPaths(
      (p) => p === '/account' || under('/account')(p),
      compose([
        account.routes(),
        recoveryRouter.routes(),
        account.allowedMethods(),
        recoveryRouter.allowedMethods(),
      ] as Koa.Middleware[]),
    ),
  );
  koa.use(
    forPaths(
      under('/interaction'),
      compose([interactions.routes(), interactions.allowedMethods()] as Koa.Middleware[]),
    ),
  );
  // RFC 8414 metadata lives at its own well-known path; its content is the OpenID discovery document.
  koa.use(async (ctx, next) => {
    if (ctx.path === '/.well-known/oauth-authorization-server') ctx.path = '/.well-known/openid-configuration';
    await next();
  });
  koa.use(redirectFormPostsToGet(['/auth', '/session/end']));
  koa.use(forPaths(isDevicePath, deviceRoutes({ store, config, metrics })));
  koa.use(forPaths(isRegistrationPath, registrationGate({ mode: config.registration, prisma: db.prisma, hash })));
  // Mounted as oidc-provider's documentation shows (koa-mount; at the root it composes the provider's middleware).
  koa.use(mount(provider));

  const admin =
    config.admin.port === undefined
      ? undefined
      : createAdminKoa({ config, logger, metrics, adminApi, traceIds, theme });
  return { koa, admin, signingKeys, provider, adapter, hash, families, metrics, allowances, backchannel };
}
