// What a response's page may run beyond the strict default Content-Security-Policy (src/http/security-headers.ts
// writes the header): inline scripts named by their CSP hash, allowed for this response only. The form_post page
// (src/oidc/form-post.ts) is the one user.
import type { Context } from 'koa';

interface WithHashes {
  scriptHashes?: string[];
}

/** Lets this response's page run one inline script, named by its CSP hash. */
export function allowScriptHash(ctx: Pick<Context, 'state'>, hash: string): void {
  ((ctx.state as WithHashes).scriptHashes ??= []).push(hash);
}

/** The script hashes this response's page was allowed (none, usually). */
export const allowedScriptHashes = (ctx: Pick<Context, 'state'>): readonly string[] =>
  (ctx.state as WithHashes).scriptHashes ?? [];
