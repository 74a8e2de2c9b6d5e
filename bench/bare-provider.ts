// The reference server of the benchmark: node-oidc-provider itself (the version Tollgate installs), with its
// in-memory adapter and no durability at all, configured to do the same protocol work Tollgate does: ES256
// signing, PKCE, refresh-token rotation, client_credentials and introspection. The ratio Tollgate/bare therefore
// shows what Tollgate's persistence, hashing and audit cost, and nothing else.
//
// Run as a child process by bench/run.ts: `node --import tsx bench/bare-provider.ts` with BARE_PORT set. Prints one
// JSON line {"msg":"bare listening",...} with its URL and clients once it accepts connections, and exits when its
// stdin closes, so it never outlives the benchmark that started it.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider, { type Configuration } from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const port = Number(process.env.BARE_PORT);
if (!Number.isInteger(port) || port <= 0) throw new Error('BARE_PORT must name a port');
const issuer = `http://127.0.0.1:${port}`;

// A fresh ES256 key per run, as Tollgate generates (SIGNING_KEY_ALG defaults to ES256).
const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });

const codeClient = {
  client_id: 'bench-code',
  client_secret: randomBytes(32).toString('base64url'),
  redirect_uris: ['https://client.example.com/cb'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  scope: 'openid offline_access',
};
const ccClient = {
  client_id: 'bench-cc',
  client_secret: randomBytes(32).toString('base64url'),
  redirect_uris: [],
  grant_types: ['client_credentials'],
  response_types: [],
  scope: 'admin',
};

// The library's own in-memory adapter, as `new Provider()` builds it without an `adapter`, with one change: room.
// The default store is an LRU of 1,000 entries (at most 2,000 kept), which a few seconds of client_credentials
// overflow, evicting the refresh tokens, grants and access tokens the next round uses ("invalid_grant",
// "active": false). 500,000 holds everything a bounded run creates, so nothing is lost that Tollgate would keep.
const store = new LRU({ maxSize: 500_000 });
const adapter = (model: string) => new MemoryAdapter(model, store);

// Mirrors src/oidc/configuration.ts wherever a setting changes the work done per request.
const configuration: Configuration = {
  adapter,
  clients: [codeClient, ccClient] as Configuration['clients'],
  jwks: { keys: [{ ...signingKey, alg: 'ES256', use: 'sig', kid: 'bench' }] } as Configuration['jwks'],
  clientDefaults: { id_token_signed_response_alg: 'ES256', token_endpoint_auth_method: 'client_secret_basic' },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  responseTypes: ['code'],
  pkce: { required: () => true },
  rotateRefreshToken: true,
  scopes: ['openid', 'offline_access', 'admin'],
  features: {
    devInteractions: { enabled: true }, // its built-in login and consent pages; the benchmark drives them
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      allowedPolicy: async (ctx, _client, token) => token.clientId === ctx.oidc.client?.clientId,
    },
    revocation: { enabled: true },
  },
  ttl: {
    AccessToken: 900,
    ClientCredentials: 900,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 600,
    RefreshToken: 1_209_600,
    Grant: 2_592_000,
    Session: 1_209_600,
  },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
};

const provider = new Provider(issuer, configuration);
const server = createServer(provider.callback());
server.keepAliveTimeout = 65_000; // as Tollgate's boot sets it: the load generator's sockets stay open between rounds
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'bare listening', url: issuer, codeClient, ccClient })}\n`);
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.stdin.on('end', stop).on('close', stop).resume();
process.on('SIGTERM', stop);
