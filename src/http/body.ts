// A bounded reader for the small HTML form posts of the interaction pages. Bodies past the limit are refused
// (413) before they are buffered whole; anything but application/x-www-form-urlencoded is refused (415).
import type { Context } from 'koa';

import { InvalidRequest, PayloadTooLarge, UnsupportedMediaType } from '../errors.js';

export async function readBody(ctx: Context, limit: number): Promise<string> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit) throw new PayloadTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new PayloadTooLarge();
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.includes('\uFFFD')) throw new InvalidRequest('the request body is not valid UTF-8');
  return text;
}

export async function readForm(ctx: Context, limit = 16 * 1024): Promise<URLSearchParams> {
  if (!ctx.is('application/x-www-form-urlencoded')) throw new UnsupportedMediaType('expected application/x-www-form-urlencoded');
  const text = await readBody(ctx, limit);
  try {
    // URLSearchParams never throws on bad percent-encoding; decode once ourselves to reject it clearly.
    decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new InvalidRequest('the request body has invalid percent-encoding');
  }
  return new URLSearchParams(text);
}

/** One value of a form field; a field given twice is ambiguous and refused. */
export function single(form: URLSearchParams, name: string): string | undefined {
  const values = form.getAll(name);
  if (values.length > 1) throw new InvalidRequest(`${name} must be given once`);
  return values[0];
}
