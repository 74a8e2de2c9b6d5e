// Ory Hydra as a durable peer (`npm run bench -- --peer hydra`): durable in PostgreSQL like Tollgate, where bare
// node-oidc-provider keeps everything in memory. It runs with its defaults (refresh-token rotation, opaque access
// tokens, RS256 ID tokens, PBKDF2 client-secret hashing) on its own fresh database on the same PostgreSQL server,
// migrated by its own `hydra migrate sql up`, listening on 127.0.0.1 only. `serve all --dev` because the benchmark
// speaks plain HTTP on loopback, as it does to Tollgate: in Hydra 2.3 --dev only allows an http issuer, insecure
// cookies and loose redirect URIs; it changes nothing on the token or introspection paths.
//
// Hydra has no login or consent pages of its own: an application accepts each step through its admin API. The
// benchmark is that application here (bench/hydra-flow.ts).
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';

import pg from 'pg';

import { freePort } from '../test/support/process.js';
import { startProcess, type ChildServer } from './children.js';
import { createBenchDatabase, databaseBackends } from './database.js';
import { adminCall } from './hydra-admin.js';
import { hydraCodeFlow } from './hydra-flow.js';
import { HYDRA_VERSION } from './hydra-build.js';
import type { ComparedOperation } from './options.js';
import type { Target } from './target.js';

/** What Hydra is compared on: the durable paths (issue 17). */
export const HYDRA_OPERATIONS = ['refresh', 'introspection'] as const satisfies readonly ComparedOperation[];

const REDIRECT_URI = 'https://client.example.com/cb';
/** Where Hydra sends the browser to sign in and consent: nowhere real, the benchmark reads the challenge off the URL. */
const INTERACTION_ORIGIN = 'https://interaction.bench.invalid';

/** Runs `hydra ...args` to its end (migrations); rejects with its output when it fails. */
function runHydra(binary: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((done, reject) => {
    const child = spawn(binary, args, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      if (output.length < 16_000) output += chunk.toString('utf8');
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) done();
      else reject(new Error(`hydra ${args.join(' ')} failed (${code ?? signal}):\n${output.slice(-3000)}`));
    });
  });
}

/** Hydra on a fresh database, with `extra` settings over the benchmark's (none by default: Hydra's own defaults). */
export async function startHydra(binary: string, extra: Record<string, string> = {}): Promise<Target> {
  const db = await createBenchDatabase('tg_bench_hydra');
  const dsn = new URL(db.url);
  dsn.searchParams.set('sslmode', 'disable');
  const [publicPort, adminPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${publicPort}`;
  const admin = `http://127.0.0.1:${adminPort}`;
  const env: Record<string, string> = {
    DSN: dsn.toString(),
    URLS_SELF_ISSUER: `${url}/`,
    URLS_LOGIN: `${INTERACTION_ORIGIN}/login`,
    URLS_CONSENT: `${INTERACTION_ORIGIN}/consent`,
    SECRETS_SYSTEM: randomBytes(32).toString('base64url'),
    SERVE_PUBLIC_HOST: '127.0.0.1',
    SERVE_PUBLIC_PORT: String(publicPort),
    SERVE_ADMIN_HOST: '127.0.0.1',
    SERVE_ADMIN_PORT: String(adminPort),
    // As Tollgate runs at LOG_LEVEL=warn: Hydra logs two lines per request at info, which would measure the logger.
    LOG_LEVEL: 'warn',
    SQA_OPT_OUT: 'true', // no usage reports (the machine has no route out anyway)
    ...extra,
  };

  let child: ChildServer | undefined;
  const monitor = new pg.Client({ connectionString: db.url });
  let monitoring = false;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await child?.stop();
      if (monitoring) await monitor.end().catch(() => {});
      await db.drop();
    })());

  try {
    await monitor.connect();
    monitoring = true;
    await runHydra(binary, ['migrate', 'sql', 'up', '--read-from-env', '--yes'], env);
    child = await startProcess('hydra', binary, ['serve', 'all', '--dev'], {
      env,
      ready: { probe: `${url}/health/ready` },
    });
    const codeClient = await adminCall(admin, 'POST', '/admin/clients', {
      client_name: 'Bench web app',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      scope: 'openid offline_access',
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    const ccClient = await adminCall(admin, 'POST', '/admin/clients', {
      client_name: 'Bench service',
      grant_types: ['client_credentials'],
      response_types: ['token'],
      scope: 'admin',
      token_endpoint_auth_method: 'client_secret_basic',
    });
    const server = child;
    const target: Target = {
      name: 'hydra',
      workers: 1,
      label: 'hydra',
      url,
      pid: server.pid,
      endpoints: {
        token: '/oauth2/token',
        introspection: { base: admin, path: '/admin/oauth2/introspect', clientAuthenticated: false },
      },
      codeFlow: (http) => hydraCodeFlow(target, admin, http),
      // fosite's HMAC strategy: <random 32 bytes>.<HMAC of it under the system secret>, with an ory_at_ prefix.
      opaqueAccessTokens: 'opaque, HMAC-SHA-512/256 under the system secret',
      codeClient: {
        client_id: String(codeClient.client_id),
        client_secret: String(codeClient.client_secret),
        redirect_uri: REDIRECT_URI,
      },
      ccClient: {
        client_id: String(ccClient.client_id),
        client_secret: String(ccClient.client_secret),
        scope: 'admin',
      },
      user: { username: 'bench-user', password: '' }, // the subject the benchmark's login accepts; Hydra checks no password
      serverPids: async () => [server.pid, ...(await databaseBackends(monitor))],
      warnings: () => server.warnings,
      stop,
    };
    return target;
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

export const HYDRA_NAME = `Ory Hydra ${HYDRA_VERSION}`;
