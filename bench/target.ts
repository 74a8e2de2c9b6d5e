// A server under test, as the benchmark sees it: where it listens, which process it is, and the clients and user
// it was given. The bare provider, Tollgate and a peer (Ory Hydra) are reduced to this, so every operation runs the
// same code against each.
import type { Tokens } from './flow.js';
import type { ClientCredentials, HttpClient } from './http-client.js';

export type ServerName = 'bare' | 'tollgate' | 'hydra';

/** Where a server answers what the benchmark asks. */
export interface Endpoints {
  /** Path of the token endpoint on `url`. */
  token: string;
  /**
   * RFC 7662 introspection: its base URL (Hydra answers on its admin port, not on the public one), its path, and
   * whether the caller authenticates as the client (Hydra's admin API takes no client credentials).
   */
  introspection: { base: string; path: string; clientAuthenticated: boolean };
}

/** The endpoints of node-oidc-provider, which bare and Tollgate share. */
export const providerEndpoints = (url: string): Endpoints => ({
  token: '/token',
  introspection: { base: url, path: '/token/introspection', clientAuthenticated: true },
});

export interface Target {
  name: ServerName;
  /** Server processes answering (Tollgate's WORKERS; 1 for bare). */
  workers: number;
  /** How the rounds and the report name it: `bare`, `tollgate`, `tollgate ×2` (2 workers). */
  label: string;
  /** http://127.0.0.1:<port>, also the issuer. */
  url: string;
  /** The process started (with several workers: the cluster primary, which forwards connections to them). */
  pid: number;
  /** A confidential authorization_code + refresh_token client. */
  codeClient: ClientCredentials & { redirect_uri: string };
  /** A confidential client_credentials client and the scope it asks for. */
  ccClient: ClientCredentials & { scope: string };
  endpoints: Endpoints;
  /** A whole code + PKCE flow ending in tokens, where a server has its own way to it (Hydra: login and consent admin API). */
  codeFlow?: (http: HttpClient) => Promise<Tokens>;
  /** How its opaque access tokens are made, where that is known (they carry no header that tells). */
  opaqueAccessTokens?: string;
  /** Who signs in on the login page (the bare provider's dev pages take anyone). */
  user: { username: string; password: string };
  /** Processes doing this server's work, for CPU accounting: its own, plus (Tollgate) its database's backends. */
  serverPids(): Promise<number[]>;
  /** Warning and error log lines the server printed (Tollgate runs at LOG_LEVEL=warn). */
  warnings(): string[];
  /** Stops the server and removes whatever storage was created for it. Safe to call twice. */
  stop(): Promise<void>;
}
