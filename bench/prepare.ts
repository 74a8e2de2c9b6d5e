// Gets a server ready for the rounds: N refresh-token chains, each begun by its own real code + PKCE flow (its own
// browser, sign-in and consent, so each is its own grant and, on Tollgate, its own family), plus one more flow whose
// access token the introspection rounds ask about.
import { codeFlow, jwsAlgorithm, type Tokens } from './flow.js';
import { HttpClient } from './http-client.js';
import type { Target } from './target.js';

export interface Prepared {
  target: Target;
  http: HttpClient;
  /** A client of the introspection endpoint's base URL: `http` itself unless it listens elsewhere (Hydra's admin port). */
  introspectionHttp: HttpClient;
  /** The current refresh token of each chain; undefined once a chain is broken. */
  chains: (string | undefined)[];
  introspectedToken: string;
  /** What signed the tokens this server issued, read off the tokens themselves (their JWS headers). */
  algorithms: { idToken: string; accessToken: string };
}

/** The algorithms of the tokens a flow returned: a JWS header's alg, or what the target says its opaque tokens are. */
export function algorithmsOf(target: Pick<Target, 'opaqueAccessTokens'>, tokens: Tokens): Prepared['algorithms'] {
  return {
    idToken: jwsAlgorithm(tokens.id_token) ?? (tokens.id_token ? 'not a JWS' : 'none issued'),
    accessToken: jwsAlgorithm(tokens.access_token) ?? target.opaqueAccessTokens ?? 'opaque',
  };
}

/** Runs `count` tasks, at most `limit` at a time, in order of index. */
async function inParallel<T>(count: number, limit: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
  return results;
}

export async function prepare(
  target: Target,
  { chains, browsers, concurrency }: { chains: number; browsers: number; concurrency: number },
): Promise<Prepared> {
  const http = new HttpClient(target.url, Math.max(chains, concurrency, browsers));
  const { base } = target.endpoints.introspection;
  const introspectionHttp = base === target.url ? http : new HttpClient(base, concurrency);
  try {
    const [forIntrospection, ...forChains] = await inParallel<Tokens>(chains + 1, browsers, () =>
      codeFlow(target, http),
    );
    return {
      target,
      http,
      introspectionHttp,
      chains: forChains.map((t) => t.refresh_token),
      introspectedToken: forIntrospection!.access_token,
      algorithms: algorithmsOf(target, forIntrospection!),
    };
  } catch (err) {
    http.close();
    introspectionHttp.close();
    throw err;
  }
}
