// The operations measured, each one request as a client or resource server sends it. Every request checks its
// answer: a fast error is not throughput, so anything but the expected success counts as an error.
import { codeFlow } from './flow.js';
import { basicAuth, type HttpClient, type HttpResponse } from './http-client.js';
import { WorkerDone } from './load.js';
import type { Target } from './target.js';

export type OperationName = 'refresh' | 'client_credentials' | 'introspection' | 'code_flow';

export interface Operation {
  name: OperationName;
  concurrency: number;
  request(worker: number): Promise<void>;
}

function json(res: HttpResponse): Record<string, unknown> {
  try {
    return JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    return {};
  }
}

const failure = (what: string, res: HttpResponse, body: Record<string, unknown>) =>
  `${what}: ${res.status} ${String(body.error ?? '')} ${String(body.error_description ?? res.body.slice(0, 120))}`.trim();

/**
 * Chained refresh_token grants: worker i owns chain i, presents its current refresh token and keeps the rotated
 * one, as a client keeping a session alive does. A chain answered with invalid_grant is dead (revoked as reuse,
 * expired): its worker stops, since every further request would repeat the same failure.
 */
export function refreshOperation(target: Target, http: HttpClient, chains: (string | undefined)[]): Operation {
  const authorization = basicAuth(target.codeClient);
  return {
    name: 'refresh',
    concurrency: chains.length,
    async request(worker) {
      const token = chains[worker];
      if (!token) throw new WorkerDone(`chain ${worker} is broken`);
      const res = await http.postForm(
        target.endpoints.token,
        { grant_type: 'refresh_token', refresh_token: token },
        { authorization },
      );
      const body = json(res);
      if (res.status === 200 && typeof body.refresh_token === 'string' && typeof body.access_token === 'string') {
        chains[worker] = body.refresh_token;
        return;
      }
      if (res.status === 400 && body.error === 'invalid_grant') {
        chains[worker] = undefined;
        throw new WorkerDone(failure(`refresh (chain ${worker} now broken)`, res, body));
      }
      throw new Error(failure('refresh', res, body));
    },
  };
}

export function clientCredentialsOperation(target: Target, http: HttpClient, concurrency: number): Operation {
  const authorization = basicAuth(target.ccClient);
  const form = { grant_type: 'client_credentials', scope: target.ccClient.scope };
  return {
    name: 'client_credentials',
    concurrency,
    async request() {
      const res = await http.postForm(target.endpoints.token, form, { authorization });
      const body = json(res);
      if (res.status !== 200 || typeof body.access_token !== 'string')
        throw new Error(failure('client_credentials', res, body));
    },
  };
}

/**
 * RFC 7662 introspection of a user's access token by the client it was issued to (where the server authenticates
 * the caller as a client; Hydra's admin endpoint does not); it must come back active. `http` is a client of the
 * introspection endpoint's base URL.
 */
export function introspectionOperation(
  target: Target,
  http: HttpClient,
  accessToken: string,
  concurrency: number,
): Operation {
  const { path, clientAuthenticated } = target.endpoints.introspection;
  const headers: Record<string, string> = clientAuthenticated ? { authorization: basicAuth(target.codeClient) } : {};
  return {
    name: 'introspection',
    concurrency,
    async request() {
      const res = await http.postForm(path, { token: accessToken }, headers);
      const body = json(res);
      if (res.status !== 200 || body.active !== true) throw new Error(failure('introspection', res, body));
    },
  };
}

/** Whole code + PKCE flows through the login and consent pages, one per browser at a time. */
export function codeFlowOperation(target: Target, http: HttpClient, browsers: number): Operation {
  return {
    name: 'code_flow',
    concurrency: browsers,
    async request() {
      await codeFlow(target, http);
    },
  };
}
