import { parseArgs } from 'node:util';

import { CLI_ACTOR, eventBy } from '../../audit/actor.js';
import { createAudit } from '../../audit/audit.js';
import { createClient, rotateClientSecret } from '../../clients/clients.js';
import { markClientChanged } from '../../clients/client-versions.js';
import { registerResourceServer } from '../../clients/resource-servers.js';
import { openStore } from '../../store/index.js';
import { InvalidRequest, NotFound } from '../../errors.js';
import { createLogger } from '../../observability/logger.js';
import type { CliContext } from '../context.js';

/**
 * clients create --name N [--redirect-uri URI]... [--public] [--grant-types a,b] [--scopes "a b"] [--admin]
 *   [--id-token-signed-response-alg ES256|RS256]
 *   [--resource-server URI --resource-scopes "a b"]   (the client stands for that API: see src/clients/resource-servers.ts)
 */
export async function clientsCreate(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      public: { type: 'boolean' },
      'grant-types': { type: 'string' },
      scopes: { type: 'string' },
      admin: { type: 'boolean' },
      'resource-server': { type: 'string' },
      'resource-scopes': { type: 'string' },
      'id-token-signed-response-alg': { type: 'string' },
    },
    strict: true,
  });
  if (values['resource-scopes'] !== undefined && !values['resource-server']) throw new InvalidRequest('--resource-scopes needs --resource-server');
  const client = await createClient(ctx.db.prisma, ctx.hash, {
    name: values.name ?? '',
    redirectUris: values['redirect-uri'] ?? [],
    public: values.public ?? false,
    grantTypes: values['grant-types']?.split(',').map((g) => g.trim()).filter(Boolean),
    scopes: values.scopes,
    admin: values.admin ?? false,
    idTokenSignedResponseAlg: values['id-token-signed-response-alg'],
  }, [eventBy(CLI_ACTOR, 'client.created', 'success')]);
  if (!values['resource-server']) return client;
  const server = await registerResourceServer(ctx.db.prisma, client.client_id, values['resource-server'], values['resource-scopes'] ?? '');
  return { ...client, resource_server: { identifier: server.identifier, scopes: server.scopes } };
}

/**
 * clients rotate-secret --client-id C: a new secret, printed once; the old one stops working at once. Audited as
 * client.secret_rotated in the same statement; the event is mirrored to stderr as a JSON log line.
 */
export async function clientsRotateSecret(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({ args, options: { 'client-id': { type: 'string' } }, strict: true });
  const clientId = values['client-id'];
  if (!clientId) throw new InvalidRequest('--client-id is required');
  const event = eventBy(CLI_ACTOR, 'client.secret_rotated', 'success');
  const secret = await rotateClientSecret(ctx.db.prisma, ctx.hash, clientId, [event]);
  if (!secret) throw new NotFound(`no client ${clientId}`);
  // With a shared store, running instances drop their cached copy now; embedded, within CLIENT_CACHE_SECONDS.
  if (ctx.config.redisUrl) {
    const store = await openStore(ctx.config);
    try {
      await markClientChanged(store, clientId);
    } finally {
      await store.close();
    }
  }
  createAudit(ctx.db.prisma, createLogger({ level: ctx.config.logLevel }, process.stderr)).mirror({ ...event, clientId });
  return { client_id: clientId, client_secret: secret };
}
