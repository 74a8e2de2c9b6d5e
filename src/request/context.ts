// The request being served, for code that oidc-provider calls without one (adapters, findAccount, token checks).
// Tollgate keeps its own AsyncLocalStorage instead of reading oidc-provider's private one: one explicit module, set
// by one middleware (`withRequestContext`, mounted in src/app.ts), read through `currentRequest()`.
import { AsyncLocalStorage } from 'node:async_hooks';

import type { Context, Next } from 'koa';

/** What the readers need of a Koa context: its state (the request memo), address, headers and oidc-provider's view. */
export interface RequestContext {
  state: Record<string, unknown>;
  ip: string;
  get(field: string): string;
  oidc?: { route?: string; entities?: Record<string, unknown> };
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The request whose handling is running now; undefined outside one (the CLI, jobs). */
export const currentRequest = (): RequestContext | undefined => storage.getStore();

/** Koa middleware: everything downstream of it can find the request through `currentRequest()`. */
export function withRequestContext(ctx: Context, next: Next): Promise<unknown> {
  return storage.run(ctx, next);
}
