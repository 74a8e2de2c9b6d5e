// Input checking for the admin API: request bodies, query strings and path parameters, each against a zod schema.
// A refusal is a 400 whose description names every offending field, e.g.
//   `redirect_uris[1]: Invalid input: expected string, received number; unknown field colour`.
// Path parameters that cannot name anything (a malformed uuid) are 404s, like well-formed ids that name nothing.
import type { Context } from 'koa';
import type { z } from 'zod';

import { InvalidRequest, NotFound } from '../errors.js';
import { readJson } from '../request/body.js';

type Issue = z.core.$ZodIssue;

const fieldOf = (path: PropertyKey[]) =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');

function describe(issue: Issue): string {
  const field = fieldOf(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const names = issue.keys.map((k) => (field ? `${field}.${k}` : k)).join(', ');
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${names}`;
  }
  return field ? `${field}: ${issue.message}` : issue.message;
}

/** The parsed value, or a 400 naming each field the schema refused. */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new InvalidRequest(result.error.issues.slice(0, 10).map(describe).join('; '));
}

/** The JSON body (bounded, application/json) checked against a schema. */
export async function parseBody<S extends z.ZodType>(ctx: Context, schema: S): Promise<z.output<S>> {
  const body = await readJson(ctx);
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new InvalidRequest('the request body must be a JSON object');
  return parse(schema, body);
}

/** The query string checked against a schema (a parameter given twice arrives as an array and is refused). */
export const parseQuery = <S extends z.ZodType>(ctx: Context, schema: S): z.output<S> =>
  parse(schema, { ...ctx.query });

/** A path parameter that must match `shape`; anything else names no resource. */
export function pathParam(ctx: Context, name: string, shape: RegExp, what: string): string {
  const value = (ctx.params as Record<string, string | undefined>)[name];
  if (value === undefined || !shape.test(value)) throw new NotFound(`no such ${what}`);
  return value;
}
