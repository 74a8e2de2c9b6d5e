// Mounting a router for the paths it can answer only. A koa-router tests every one of its routes' patterns
// against every request's path; on the token endpoint's hot path that is dozens of regular expressions for
// routes (admin, interactions, health) that cannot match.
import type { Middleware } from 'koa';

// `any`: routers type their context with route params, which only they fill in.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function forPaths(matches: (path: string) => boolean, middleware: Middleware<any, any>): Middleware {
  return function forPaths(ctx, next) {
    return matches(ctx.path) ? (middleware(ctx, next) as Promise<void>) : next();
  };
}

export const under = (prefix: string) => (path: string) => path.startsWith(`${prefix}/`);
export const oneOf = (...paths: string[]) => {
  const set = new Set(paths);
  return (path: string) => set.has(path);
};
