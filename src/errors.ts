// Tollgate's errors: one module, one factory, stable codes. Each error carries its HTTP status, whether its
// message may be shown (`expose`, as in http-errors and oidc-provider), the RFC 6749 `error` code and an
// `error_description`. The outermost middleware (src/http/error-handler.ts) is the one place that turns them into
// responses; oidc-provider's own error handler honours the same fields (statusCode, expose, message).

export class TollgateError extends Error {
  readonly status: number;
  readonly statusCode: number;
  readonly expose: boolean;
  readonly error: string;
  error_description: string;
  /**
   * oidc-provider sends an error raised at the authorization endpoint back to the client's redirect_uri (once that
   * is verified) only when this is true, as RFC 6749 §4.1.2.1 asks; otherwise it shows an error page.
   */
  readonly allow_redirect = true;
  /** Response headers that belong to the error (WWW-Authenticate, Retry-After); the error handler sets them. */
  readonly headers: Record<string, string> | undefined;

  constructor(status: number, error: string, description: string, options?: TollgateErrorOptions) {
    super(error, options);
    this.name = 'TollgateError';
    this.status = status;
    this.statusCode = status;
    this.expose = true;
    this.error = error;
    this.error_description = description;
    this.headers = options?.headers;
  }
}

export interface TollgateErrorOptions {
  cause?: unknown;
  headers?: Record<string, string>;
}

const E = (status: number, error: string, defaultDescription: string) =>
  class extends TollgateError {
    constructor(description = defaultDescription, options?: TollgateErrorOptions) {
      super(status, error, description, options);
      this.name = error;
    }
  };

export const InvalidRequest = E(400, 'invalid_request', 'the request is malformed');
export const InvalidGrant = E(400, 'invalid_grant', 'grant request is invalid');
/** RFC 6749 §5.2: this client may not use this grant type. */
export const UnauthorizedClient = E(400, 'unauthorized_client', 'this client is not allowed to use this grant type');
export const InvalidScope = E(400, 'invalid_scope', 'the requested scope is invalid');
/** RFC 8707 §2: the resource is unknown, or this client may not obtain tokens for it. */
export const InvalidTarget = E(400, 'invalid_target', 'the requested resource is invalid');
export const Unauthorized = E(401, 'invalid_token', 'a valid bearer token is required');
export const Forbidden = E(403, 'insufficient_scope', 'the token lacks the required scope');
/** A form post that did not come from Tollgate's own page (src/request/csrf.ts). */
export const CsrfRejected = E(403, 'invalid_request', 'the form was not submitted from this site');
export const NotFound = E(404, 'not_found', 'no such resource');
export const MethodNotAllowed = E(405, 'method_not_allowed', 'this method is not allowed on this resource');
export const PayloadTooLarge = E(413, 'invalid_request', 'the request body is too large');
export const UnsupportedMediaType = E(415, 'invalid_request', 'unsupported content type');
export const TooManyRequests = E(429, 'slow_down', 'too many requests, retry later');
/** A dependency (database or short-lived store) does not answer: the client may retry. RFC 6749 §4.1.2.1. */
export const TemporarilyUnavailable = E(
  503,
  'temporarily_unavailable',
  'a backing service is unavailable, retry shortly',
);

export type DependencyFailureReason = 'connection_refused' | 'not_connected' | 'connection_lost' | 'timeout' | 'other';
export type Dependency = 'database' | 'store';

/**
 * The database or the short-lived store did not answer. Raised where the failure happens (src/db/failures.ts,
 * src/store/redis-store.ts), which alone know their drivers' codes; everything above only asks `instanceof`.
 * `reason` (a metric label): refused (nothing listens, or the server refuses connections), not connected (the
 * client knows it is down and did not try), lost (the connection broke), timeout.
 */
export class DependencyUnavailable extends TemporarilyUnavailable {
  constructor(
    readonly dependency: Dependency,
    readonly reason: DependencyFailureReason,
    cause: unknown,
  ) {
    super(undefined, { cause });
    this.name = 'DependencyUnavailable';
  }
}

// Prisma wraps the driver's error: the original sits under meta.driverAdapterError.
const next = (e: unknown) => {
  const { cause, meta } = e as { cause?: unknown; meta?: { driverAdapterError?: unknown } };
  return cause ?? meta?.driverAdapterError;
};

/** The DependencyUnavailable err is or was caused by (oidc-provider and our own code may wrap it), if any. */
function unavailable(err: unknown): DependencyUnavailable | undefined {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DependencyUnavailable) return e;
  }
  return undefined;
}

/** True when err says a backing service is unavailable (a 503 the client may retry). */
export function isDependencyFailure(err: unknown): boolean {
  return unavailable(err) !== undefined || (err instanceof TollgateError && err.status === 503);
}

/** Why a dependency failed, from a fixed set (a metric label); undefined when err is no dependency failure. */
export function dependencyFailureReason(err: unknown): DependencyFailureReason | undefined {
  return unavailable(err)?.reason;
}

/** A start-up failure an operator can act on: it names the service, the address and the variable that set it. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ECONNRESET: 'connection reset',
  '28P01': 'password authentication failed',
  '3D000': 'database does not exist',
  '28000': 'access refused',
};

/** The address without its password: it goes into logs and terminals. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(unparseable URL)';
  }
}

/** "cannot reach Redis at redis://127.0.0.1:6390 (REDIS_URL): connection refused" */
export function unreachable(service: string, url: string, variable: string, err: unknown): StartupError {
  let reason: string | undefined;
  for (let e = err, depth = 0; e && !reason && depth < 8; e = next(e), depth++) {
    const { code, errors } = e as { code?: unknown; errors?: unknown[] };
    if (typeof code === 'string') reason = REASONS[code];
    if (!reason && Array.isArray(errors))
      reason = errors.map((x) => REASONS[(x as { code?: string }).code ?? '']).find(Boolean); // AggregateError: IPv4 and IPv6 both tried
  }
  if (!reason && /time(d)? ?out/i.test(String((err as Error)?.message))) reason = 'timed out';
  reason ??= (err as Error)?.message ?? String(err);
  return new StartupError(`cannot reach ${service} at ${redactUrl(url)} (${variable}): ${reason}`, { cause: err });
}
