// OpenTelemetry tracing: a span for each HTTP request (served, and made with fetch), PostgreSQL query and Redis
// command, exported over OTLP/HTTP (JSON), W3C `traceparent` honoured and passed on.
//
// Only src/main.ts loads this module, dynamically, and only when an OTLP endpoint is configured: without one, no
// OpenTelemetry SDK, exporter, instrumentation or loader hook is loaded at all. It must run before the server's
// modules are imported: under ESM a module is instrumented only if import-in-the-middle's loader hook is in place
// when the module is loaded, and the whole static import graph is loaded before any of it runs.
import { register } from 'node:module';

import { context, isSpanContextValid, trace, type Attributes } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { createAddHookMessageChannel } from 'import-in-the-middle';

import type { TracingConfig } from '../config.js';
import { loggablePath, type TraceIds } from './request-logger.js';

export interface Tracing {
  /** The current request's trace and span ids, for its log lines. */
  traceIds: TraceIds;
  /** Sends the spans not yet exported; gives up after `timeoutMs` (an unreachable collector must not hold the exit). */
  shutdown(timeoutMs: number): Promise<void>;
}

/** Probes and scrapes arrive every few seconds from every load balancer and Prometheus: not worth a trace each. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

const pathOf = (url: string | undefined) => (url ?? '/').split('?', 1)[0]!;

/**
 * The server span records what the request log records: the path with interaction ids masked, never the query
 * string (authorization requests carry state, nonces and login hints; logout requests carry ID tokens).
 */
const serverSpanAttributes = (url: string | undefined): Attributes => ({
  'url.path': loggablePath(pathOf(url)),
  'url.query': undefined,
});

/**
 * Redis spans name the command only. The default serializer writes every argument of EVAL/EVALSHA, and ours carry
 * sealed payloads and consumption marks; keys are HMACs, but there is nothing to learn from them in a trace either.
 */
const commandOnly = (command: string) => command;

export async function startTracing(config: TracingConfig): Promise<Tracing> {
  // Only the modules an instrumentation asks for are wrapped (pg, pg-pool, ioredis, http): the loader is told
  // about each Hook over this channel, and the rest of the application is loaded untouched.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  const exporter = new OTLPTraceExporter({ url: config.tracesUrl, headers: config.headers });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: config.scheduledDelayMs })],
  });
  // Global provider, AsyncLocalStorage context, and the W3C trace-context (and baggage) propagators.
  provider.register();

  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has(pathOf(req.url)),
        startIncomingSpanHook: (req) => serverSpanAttributes(req.url),
      }),
      // Outgoing requests (a client's jwks_uri, back-channel logout deliveries) go through fetch, which the http
      // instrumentation does not see; undici's diagnostics channels do, and `traceparent` is added to them.
      new UndiciInstrumentation(),
      // Queries and commands inside a request (or another traced operation): the back-channel logout worker polls
      // every second, and a root trace per poll would bury the requests.
      new PgInstrumentation({ requireParentSpan: true }),
      new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: commandOnly }),
    ],
  });
  await waitForAllMessagesAcknowledged();

  return {
    traceIds() {
      const ids = trace.getSpan(context.active())?.spanContext();
      return ids && isSpanContextValid(ids) ? { traceId: ids.traceId, spanId: ids.spanId } : undefined;
    },
    async shutdown(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      await Promise.race([provider.shutdown().catch(() => {}), timeout]).finally(() => clearTimeout(timer));
    },
  };
}
