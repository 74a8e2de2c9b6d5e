// Bounded readers for request bodies: the small HTML form posts of the interaction pages, and the JSON of the admin
// API. Bodies past the limit are refused (413) before they are buffered whole; a body of another media type than
// the reader expects is refused (415).
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
  if (!ctx.is('application/x-www-form-urlencoded'))
    throw new UnsupportedMediaType('expected application/x-www-form-urlencoded');
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

/**
 * A JSON request body (the admin API). Malformed JSON is a 400, a body past the limit a 413 (declared or not),
 * anything but application/json a 415. What the JSON must look like is the caller's schema to say.
 */
export async function readJson(ctx: Context, limit = 64 * 1024): Promise<unknown> {
  if (!ctx.is('application/json')) throw new UnsupportedMediaType('expected application/json');
  const text = await readBody(ctx, limit);
  if (!text.trim()) throw new InvalidRequest('the request body is empty; a JSON object is expected');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidRequest('the request body is not valid JSON');
  }
}
