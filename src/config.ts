// The only reader of process.env. Every variable is parsed here, once, against one schema; every problem is
// reported together, naming the variable, so an operator fixes a broken deployment in one pass.
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const seconds = (fallback: number, min = 1) => z.coerce.number().int().min(min).default(fallback);

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** A logo the browser may load: https, or http on a loopback host; never credentials in the URL. */
function logoProblem(value: string): string | undefined {
  const url = URL.parse(value);
  if (!url) return undefined; // z.url() reports it
  if (url.username || url.password) return 'must not contain credentials';
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) return undefined;
  return 'must be an https URL (http only on localhost, 127.0.0.1 or [::1])';
}

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  // Address to listen on; unset: every interface (what a container wants).
  HOST: z.string().min(1).optional(),
  ISSUER: z.url().optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  // Lets several deployments (or test runs) share one Redis without seeing each other's keys.
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 : _ -')
    .default('tg:'),
  DATA_DIR: z.string().min(1).default('./.data'),
  // Root secret; every other key (token hashing, key encryption, cookies) is derived from it with HKDF.
  TOLLGATE_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  // Earlier root secrets, comma-separated, while rotating: what they sealed or signed (keys, cookies) still opens.
  TOLLGATE_SECRET_PREVIOUS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().min(32, 'each secret must be at least 32 characters')))
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SIGNING_KEY_ALG: z.enum(['ES256', 'RS256']).default('ES256'),
  ACCESS_TOKEN_TTL_SECONDS: seconds(900),
  REFRESH_TOKEN_IDLE_TTL_SECONDS: seconds(1_209_600),
  REFRESH_FAMILY_MAX_TTL_SECONDS: seconds(2_592_000),
  REFRESH_REUSE_GRACE_SECONDS: seconds(10, 0),
  // A family rotating more often than this is not a client keeping its session alive: 429 and an audit event.
  REFRESH_VELOCITY_MAX: z.coerce.number().int().min(1).default(30),
  REFRESH_VELOCITY_WINDOW_SECONDS: seconds(60),
  // Refresh anomaly signals (README "Refresh anomaly signals"): always recorded; `revoke` also revokes the family on
  // impossible_travel and user_agent_changed. A reused refresh token revokes its family, or (`account`) every
  // family of the account with its access tokens.
  ANOMALY_RESPONSE: z.enum(['record', 'revoke']).default('record'),
  ANOMALY_MAX_SPEED_KMH: z.coerce.number().positive().default(1000),
  ANOMALY_MIN_INTERVAL_SECONDS: z.coerce.number().min(0).default(5),
  REUSE_RESPONSE: z.enum(['family', 'account']).default('family'),
  // How often one instance (whichever takes the lock) removes dead families and expired payloads.
  PRUNE_INTERVAL_SECONDS: seconds(600, 0),
  RATE_LIMIT_ENABLED: bool.default(true),
  // Token, introspection and revocation endpoints: volume per IP and per authenticated client (generous), and
  // failures (invalid_client, invalid_grant) per IP (strict). Login: failures per username and per IP.
  RATE_LIMIT_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).default(1200),
  RATE_LIMIT_CLIENT_REQUESTS_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  RATE_LIMIT_FAILURES: z.coerce.number().int().min(1).default(20),
  RATE_LIMIT_FAILURE_WINDOW_SECONDS: seconds(300),
  // Sign-in attempts per window, each counted before its password is checked and given back when it succeeds:
  // per username from one address (the guessing limit), per address, and per username from every address
  // together (a ceiling that a browser which signed in as that user before does not count against, so that
  // nobody can lock an owner out by knowing the username: README, "Rate limits").
  LOGIN_FAILURES_PER_USERNAME: z.coerce.number().int().min(1).default(5),
  LOGIN_FAILURES_PER_IP: z.coerce.number().int().min(1).default(20),
  LOGIN_FAILURES_PER_USERNAME_TOTAL: z.coerce.number().int().min(1).default(100),
  LOGIN_FAILURE_WINDOW_SECONDS: seconds(900),
  // Password checks (argon2id) run two at a time per instance; at most this many more sign-ins wait for one, the
  // rest get 503 with Retry-After instead of an unbounded queue. With rate limits on, one address has at most
  // LOGIN_CONCURRENT_PER_IP sign-ins in progress at once (429 beyond), so that a burst from one address cannot
  // fill the queue ahead of everyone else.
  LOGIN_HASH_QUEUE_MAX: z.coerce.number().int().min(0).default(16),
  LOGIN_CONCURRENT_PER_IP: z.coerce.number().int().min(1).default(2),
  // /metrics: on the main port behind this bearer token, and/or on a port of its own (bound to METRICS_HOST).
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  // Honour X-Forwarded-* (client IP, https) only behind a proxy you run; otherwise clients could spoof them.
  TRUST_PROXY: bool.default(false),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  DB_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).default(2000),
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  STORE_COMMAND_TIMEOUT_MS: z.coerce.number().int().min(50).default(1000),
  // Client lookups are cached this long per instance; a change made on another instance shows after at most this.
  CLIENT_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(5),
  // Dynamic client registration (RFC 7591/7592): with an admin-issued initial access token, open to anyone, or off.
  REGISTRATION: z.enum(['initial-token', 'open', 'off']).default('initial-token'),
  // Server processes on this host (node:cluster, src/cluster.ts), sharing the listening ports, PostgreSQL and Redis.
  // 1: one process, no cluster primary. More than 1 needs DATABASE_URL and REDIS_URL: the embedded database and
  // the in-process store belong to one process, and workers each holding their own would not be one server.
  WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  // SIGTERM/SIGINT: in-flight requests get this long to finish (connections are cut shortly before), then exit.
  SHUTDOWN_TIMEOUT_SECONDS: seconds(10),
  // A rotated signing key is published at once and signs only this much later, once relying parties' JWKS caches
  // (jose's default: 10 minutes) have seen it.
  KEY_ACTIVATION_DELAY_SECONDS: seconds(600, 0),
  // The admin API on a listener of its own (bound to ADMIN_HOST); the public port then answers 404 under /admin.
  ADMIN_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
  // Mail (password reset and email verification links): an SMTP server (`smtp://[user:pass@]host:port`, smtps:// for
  // implicit TLS) and the sender. Without SMTP_URL mails are written as .eml files to $DATA_DIR/outbox.
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^\s/]+(:\d+)?\/?(\?.*)?$/, 'must be smtp://[user:pass@]host:port or smtps://...')
    .optional(),
  MAIL_FROM: z.string().min(3).max(320).optional(),
  // RFC 8628: how long a device code (and its user code) can be used.
  DEVICE_CODE_TTL_SECONDS: z.coerce.number().int().min(5).max(3600).default(600),
  // Back-channel logout deliveries are retried with exponential backoff (1 s, 2 s, 4 s ... up to an hour apart)
  // this many times in all before the failure is final (audited).
  BACKCHANNEL_LOGOUT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(12),
  // Tracing (README "Tracing"), OpenTelemetry's standard variables: set, spans go out over OTLP/HTTP (JSON); unset,
  // no OpenTelemetry code is even loaded. The base endpoint gets `v1/traces` appended; the traces one is used as is.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .optional(),
  // `key=value,key2=value2`, values percent-encoded (the collector's or vendor's credentials: never logged).
  OTEL_EXPORTER_OTLP_HEADERS: z
    .string()
    .transform((v, ctx) => parseOtlpHeaders(v, ctx))
    .optional(),
  OTEL_SERVICE_NAME: z.string().min(1).max(200).default('tollgate'),
  // How long finished spans wait to be sent in one batch (shutdown sends what is left).
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().min(1).max(3_600_000).default(5000),
  // Branding of every page Tollgate renders (sign-in, consent, account, reset, device, logout, errors) and of its
  // mails. The name is text (escaped where it is shown); the logo is fetched by the person's browser, so only https
  // (or http on this machine, for development) and the page's Content-Security-Policy allows that origin alone.
  BRAND_NAME: z
    .string()
    .trim()
    .min(1)
    .max(60)
    .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters')
    .default('Tollgate'),
  BRAND_LOGO_URL: z
    .url()
    .max(2000)
    .superRefine((value, ctx) => {
      const problem = logoProblem(value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  BRAND_PRIMARY_COLOR: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'must be a #rrggbb colour')
    .default('#1d4ed8'),
});

/** OTEL_EXPORTER_OTLP_HEADERS as the OpenTelemetry specification writes it (W3C Baggage's list format). */
function parseOtlpHeaders(value: string, ctx: z.RefinementCtx): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const at = entry.indexOf('=');
    const name = entry.slice(0, at).trim();
    let decoded: string | undefined;
    try {
      decoded =
        at > 0 && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)
          ? decodeURIComponent(entry.slice(at + 1).trim())
          : undefined;
    } catch {
      decoded = undefined;
    }
    // The value is not echoed: it is usually a credential.
    if (decoded === undefined)
      ctx.addIssue({
        code: 'custom',
        message: 'must be a comma-separated list of name=value (values percent-encoded)',
      });
    else headers[name.toLowerCase()] = decoded;
  }
  return headers;
}

const LOOPBACK_ISSUER = /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?(\/|$)/;

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string | undefined;
  issuer: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  dataDir: string;
  secret: string | undefined;
  secretPrevious: string[];
  logLevel: string;
  signingKeyAlg: 'ES256' | 'RS256';
  accessTokenTtl: number;
  refreshIdleTtl: number;
  refreshFamilyMaxTtl: number;
  refreshReuseGrace: number;
  refreshVelocity: { max: number; windowSeconds: number };
  anomalies: { response: 'record' | 'revoke'; maxSpeedKmh: number; minIntervalSeconds: number };
  reuseResponse: 'family' | 'account';
  pruneIntervalSeconds: number;
  rateLimitEnabled: boolean;
  rateLimits: {
    requestsPerMinute: number;
    clientRequestsPerMinute: number;
    failures: number;
    failureWindowSeconds: number;
    loginFailuresPerUsername: number;
    loginFailuresPerIp: number;
    loginFailuresPerUsernameTotal: number;
    loginWindowSeconds: number;
    loginConcurrentPerIp: number;
  };
  loginHashQueueMax: number;
  trustProxy: boolean;
  metrics: { token: string | undefined; port: number | undefined; host: string };
  db: { poolSize: number; connectTimeoutMs: number; statementTimeoutMs: number };
  storeCommandTimeoutMs: number;
  clientCacheSeconds: number;
  registration: 'initial-token' | 'open' | 'off';
  shutdownTimeoutSeconds: number;
  /** WORKERS: server processes on this host (1: this process serves, no cluster). */
  workers: number;
  keyActivationDelaySeconds: number;
  admin: { port: number | undefined; host: string };
  deviceCodeTtl: number;
  backchannelLogoutMaxAttempts: number;
  mail: { smtpUrl: string | undefined; from: string };
  /** Set when an OTLP endpoint is configured; src/main.ts then starts tracing before loading the server. */
  tracing: TracingConfig | undefined;
  /** BRAND_*: applied to every page (views/theme.ts) and named in mails. `primaryColor` is lower-case #rrggbb. */
  brand: { name: string; logoUrl: string | undefined; primaryColor: string };
}

export interface TracingConfig {
  /** Where spans are POSTed (OTLP/HTTP, JSON). */
  tracesUrl: string;
  headers: Record<string, string>;
  serviceName: string;
  scheduledDelayMs: number;
}

/** The traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, else the base endpoint plus `v1/traces` (OTLP spec). */
function tracesUrl(base: string | undefined, traces: string | undefined): string | undefined {
  if (traces) return traces;
  if (!base) return undefined;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses an environment (process.env by default); throws one ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const input = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(input);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  if (!parsed.success) throw new ConfigError(problems);
  const e = parsed.data;

  const issuer = (e.ISSUER ?? `http://localhost:${e.PORT}`).replace(/\/$/, '');
  if (e.NODE_ENV === 'production' && !e.TOLLGATE_SECRET) {
    problems.push('TOLLGATE_SECRET: required when NODE_ENV=production (development generates one under DATA_DIR)');
  }
  if (e.NODE_ENV === 'production' && issuer.startsWith('http:') && !LOOPBACK_ISSUER.test(issuer)) {
    problems.push('ISSUER: must use https in production (http is allowed only for localhost)');
  }
  if (e.REFRESH_FAMILY_MAX_TTL_SECONDS < e.REFRESH_TOKEN_IDLE_TTL_SECONDS) {
    problems.push('REFRESH_FAMILY_MAX_TTL_SECONDS: must not be shorter than REFRESH_TOKEN_IDLE_TTL_SECONDS');
  }
  if (e.WORKERS > 1 && (!e.DATABASE_URL || !e.REDIS_URL)) {
    const missing = [e.DATABASE_URL ? [] : ['DATABASE_URL'], e.REDIS_URL ? [] : ['REDIS_URL']].flat().join(' and ');
    problems.push(
      `WORKERS: more than 1 needs DATABASE_URL and REDIS_URL (${missing} not set): the embedded database and in-process store belong to one process, so several workers would not share them`,
    );
  }
  if (problems.length) throw new ConfigError(problems);

  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    issuer,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    dataDir: e.DATA_DIR,
    secret: e.TOLLGATE_SECRET,
    secretPrevious: e.TOLLGATE_SECRET_PREVIOUS ?? [],
    logLevel: e.LOG_LEVEL,
    signingKeyAlg: e.SIGNING_KEY_ALG,
    accessTokenTtl: e.ACCESS_TOKEN_TTL_SECONDS,
    refreshIdleTtl: e.REFRESH_TOKEN_IDLE_TTL_SECONDS,
    refreshFamilyMaxTtl: e.REFRESH_FAMILY_MAX_TTL_SECONDS,
    refreshReuseGrace: e.REFRESH_REUSE_GRACE_SECONDS,
    refreshVelocity: { max: e.REFRESH_VELOCITY_MAX, windowSeconds: e.REFRESH_VELOCITY_WINDOW_SECONDS },
    anomalies: {
      response: e.ANOMALY_RESPONSE,
      maxSpeedKmh: e.ANOMALY_MAX_SPEED_KMH,
      minIntervalSeconds: e.ANOMALY_MIN_INTERVAL_SECONDS,
    },
    reuseResponse: e.REUSE_RESPONSE,
    pruneIntervalSeconds: e.PRUNE_INTERVAL_SECONDS,
    rateLimitEnabled: e.RATE_LIMIT_ENABLED,
    rateLimits: {
      requestsPerMinute: e.RATE_LIMIT_REQUESTS_PER_MINUTE,
      clientRequestsPerMinute: e.RATE_LIMIT_CLIENT_REQUESTS_PER_MINUTE,
      failures: e.RATE_LIMIT_FAILURES,
      failureWindowSeconds: e.RATE_LIMIT_FAILURE_WINDOW_SECONDS,
      loginFailuresPerUsername: e.LOGIN_FAILURES_PER_USERNAME,
      loginFailuresPerIp: e.LOGIN_FAILURES_PER_IP,
      loginFailuresPerUsernameTotal: e.LOGIN_FAILURES_PER_USERNAME_TOTAL,
      loginWindowSeconds: e.LOGIN_FAILURE_WINDOW_SECONDS,
      loginConcurrentPerIp: e.LOGIN_CONCURRENT_PER_IP,
    },
    loginHashQueueMax: e.LOGIN_HASH_QUEUE_MAX,
    trustProxy: e.TRUST_PROXY,
    metrics: { token: e.METRICS_TOKEN, port: e.METRICS_PORT, host: e.METRICS_HOST },
    db: {
      poolSize: e.DB_POOL_SIZE,
      connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    },
    storeCommandTimeoutMs: e.STORE_COMMAND_TIMEOUT_MS,
    clientCacheSeconds: e.CLIENT_CACHE_SECONDS,
    registration: e.REGISTRATION,
    shutdownTimeoutSeconds: e.SHUTDOWN_TIMEOUT_SECONDS,
    workers: e.WORKERS,
    keyActivationDelaySeconds: e.KEY_ACTIVATION_DELAY_SECONDS,
    admin: { port: e.ADMIN_PORT, host: e.ADMIN_HOST },
    deviceCodeTtl: e.DEVICE_CODE_TTL_SECONDS,
    backchannelLogoutMaxAttempts: e.BACKCHANNEL_LOGOUT_MAX_ATTEMPTS,
    mail: {
      smtpUrl: e.SMTP_URL,
      from: e.MAIL_FROM ?? `"${e.BRAND_NAME.replace(/["\\]/g, '')}" <no-reply@${new URL(issuer).hostname}>`,
    },
    brand: {
      name: e.BRAND_NAME,
      logoUrl: e.BRAND_LOGO_URL === undefined ? undefined : new URL(e.BRAND_LOGO_URL).href,
      primaryColor: e.BRAND_PRIMARY_COLOR.toLowerCase(),
    },
    tracing: tracingConfig(e),
  };
}

function tracingConfig(e: z.infer<typeof schema>): TracingConfig | undefined {
  const url = tracesUrl(e.OTEL_EXPORTER_OTLP_ENDPOINT, e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (!url) return undefined;
  return {
    tracesUrl: url,
    headers: e.OTEL_EXPORTER_OTLP_HEADERS ?? {},
    serviceName: e.OTEL_SERVICE_NAME,
    scheduledDelayMs: e.OTEL_BSP_SCHEDULE_DELAY,
  };
}
