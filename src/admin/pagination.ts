// Lists in the admin API are keyset pages: `{"items": [...], "next_cursor": "..."}`, next_cursor null on the last
// page. A cursor is the sort key of the last item, base64url-encoded JSON: opaque to clients, and stable under
// inserts and deletes (no offsets, so no duplicates or gaps between pages).
import { z } from 'zod';

import { InvalidRequest } from '../errors.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;

/** `limit` and `cursor`, shared by every list's query schema. */
export const pageQuery = {
  limit: z
    .string()
    .regex(/^\d{1,6}$/, `must be an integer from 1 to ${MAX_LIMIT}`)
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_LIMIT))
    .optional(),
  cursor: z.string().min(1).max(1024).optional(),
};

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export const encodeCursor = (key: unknown): string => Buffer.from(JSON.stringify(key)).toString('base64url');

/** The key a cursor holds, checked against the shape this list issues; a 400 for anything else. */
export function decodeCursor<S extends z.ZodType>(cursor: string | undefined, shape: S): z.output<S> | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = shape.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // not JSON: fall through to the refusal
  }
  throw new InvalidRequest('cursor: not a cursor this list issued');
}

/** A page from up to `limit + 1` rows: the extra row only says that there is more. */
export function toPage<R, V>(rows: R[], limit: number, view: (row: R) => V, keyOf: (row: R) => unknown): Page<V> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items: items.map(view),
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null,
  };
}
