// Starts the reference server (bench/bare-provider.ts) in a child process and describes it as a Target.
import { freePort } from '../test/support/process.js';
import { startChild } from './children.js';
import type { ClientCredentials } from './http-client.js';
import { providerEndpoints, type Target } from './target.js';

interface ReadyLine {
  url: string;
  codeClient: ClientCredentials & { redirect_uris: string[] };
  ccClient: ClientCredentials & { scope: string };
}

export async function startBare(): Promise<Target> {
  const port = await freePort();
  const child = await startChild('bare provider', 'bench/bare-provider.ts', {
    env: { BARE_PORT: String(port), NODE_ENV: 'production' },
    ready: { msg: 'bare listening' },
  });
  const { url, codeClient, ccClient } = child.ready as unknown as ReadyLine;
  return {
    name: 'bare',
    workers: 1,
    label: 'bare',
    url,
    pid: child.pid,
    endpoints: providerEndpoints(url),
    codeClient: {
      client_id: codeClient.client_id,
      client_secret: codeClient.client_secret,
      redirect_uri: codeClient.redirect_uris[0]!,
    },
    ccClient: { client_id: ccClient.client_id, client_secret: ccClient.client_secret, scope: ccClient.scope },
    user: { username: 'bench-user', password: 'any password' }, // the dev login page accepts anyone
    serverPids: async () => [child.pid],
    warnings: () => child.warnings,
    stop: () => child.stop(),
  };
}
