// Refuses declared bodies past a limit before anyone reads them: 413 with a JSON error (RFC 6749 §5.2 shape).
// Undeclared (chunked) bodies are bounded again by whoever reads them.
import type { Middleware } from 'koa';

import { PayloadTooLarge } from '../errors.js';

export function bodyLimit(maxBytes: number): Middleware {
  return async (ctx, next) => {
    const declared = Number(ctx.get('content-length') || 0);
    if (declared > maxBytes) throw new PayloadTooLarge(`the request body is larger than ${maxBytes} bytes`);
    await next();
  };
}
