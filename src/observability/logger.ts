// pino, with redaction as a second line of defence: code paths log identifiers and outcomes only, never request
// bodies or query strings; should a secret-bearing field still reach a log call, it is censored here.
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

const SECRET_FIELDS = [
  'password',
  'client_secret',
  'secret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'code',
  'code_verifier',
  'authorization',
  'cookie',
  'set-cookie',
  'assertion',
  'client_assertion',
  'private_jwk',
];

export const REDACT_PATHS = [
  ...SECRET_FIELDS.map((f) => `*.${f.includes('-') ? `["${f}"]` : f}`),
  ...SECRET_FIELDS.map((f) => `*.*.${f.includes('-') ? `["${f}"]` : f}`),
  ...SECRET_FIELDS.map((f) => (f.includes('-') ? `["${f}"]` : f)),
];

/** `bindings`: fields on every line (a cluster worker names itself: `worker`, `pid`). */
export function createLogger(
  { level, bindings = {} }: { level: string; bindings?: Record<string, string | number> },
  destination?: DestinationStream,
): Logger {
  return pino(
    {
      level,
      base: { service: 'tollgate', ...bindings },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}
