// A server under test, as the benchmark sees it: where it listens, which process it is, and the clients and user
// it was given. Both the bare provider and Tollgate are reduced to this, so every operation runs the same code
// against either.
import type { ClientCredentials } from './http-client.js';

export type ServerName = 'bare' | 'tollgate';

export interface Target {
  name: ServerName;
  /** http://127.0.0.1:<port>, also the issuer. */
  url: string;
  pid: number;
  /** A confidential authorization_code + refresh_token client. */
  codeClient: ClientCredentials & { redirect_uri: string };
  /** A confidential client_credentials client and the scope it asks for. */
  ccClient: ClientCredentials & { scope: string };
  /** Who signs in on the login page (the bare provider's dev pages take anyone). */
  user: { username: string; password: string };
  /** Processes doing this server's work, for CPU accounting: its own, plus (Tollgate) its database's backends. */
  serverPids(): Promise<number[]>;
  /** Warning and error log lines the server printed (Tollgate runs at LOG_LEVEL=warn). */
  warnings(): string[];
  /** Stops the server and removes whatever storage was created for it. Safe to call twice. */
  stop(): Promise<void>;
}
