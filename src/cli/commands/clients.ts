import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { allowanceEvent, CLI_ACTOR, eventBy } from '../../admin/actor.js';
import { setAllowance } from '../../clients/allowances.js';
import { createClient, rotateClientSecret, type ClientInput } from '../../clients/clients.js';
import { markClientChanged } from '../../clients/client-versions.js';
import { checkIdentifier, checkScopes, registerResourceServer } from '../../clients/resource-servers.js';
import { openStore } from '../../store/index.js';
import { InvalidRequest, NotFound } from '../../errors.js';
import type { CliContext } from '../context.js';

/**
 * clients create --name N [--redirect-uri URI]... [--public] [--grant-types a,b] [--scopes "a b"] [--admin]
 *   [--id-token-signed-response-alg ES256|RS256] [--allow-nonce-instead-of-pkce]
 *   [--backchannel-logout-uri URI] [--auth-method private_key_jwt (--jwks-uri URI | --jwks-file F)]
 *   [--require-pushed-authorization-requests] [--dpop-bound-access-tokens]
 *   [--resource-server URI --resource-scopes "a b" [--resource-name N]]   (the client stands for that API, which is
 *   registered with it: see src/clients/resource-servers.ts; clients obtain its scopes with `clients allow`)
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
      'allow-nonce-instead-of-pkce': { type: 'boolean' },
      'resource-name': { type: 'string' },
      'backchannel-logout-uri': { type: 'string' },
      'auth-method': { type: 'string' },
      'jwks-uri': { type: 'string' },
      'jwks-file': { type: 'string' },
      'require-pushed-authorization-requests': { type: 'boolean' },
      'dpop-bound-access-tokens': { type: 'boolean' },
    },
    strict: true,
  });
  const jwks = values['jwks-file'] !== undefined ? await readJwksFile(values['jwks-file']) : undefined;
  if (values['resource-scopes'] !== undefined && !values['resource-server'])
    throw new InvalidRequest('--resource-scopes needs --resource-server');
  if (values['resource-name'] !== undefined && !values['resource-server'])
    throw new InvalidRequest('--resource-name needs --resource-server');
  // The API's scopes are checked before anything is written, so that a malformed one leaves no client behind.
  const apiScopes = values['resource-server'] ? checkScopes(values['resource-scopes'] ?? '') : [];
  if (values['resource-server']) checkIdentifier(values['resource-server']);
  const client = await createClient(
    ctx.db.prisma,
    ctx.hash,
    {
      name: values.name ?? '',
      redirectUris: values['redirect-uri'] ?? [],
      public: values.public ?? false,
      grantTypes: values['grant-types']
        ?.split(',')
        .map((g) => g.trim())
        .filter(Boolean),
      scopes: values.scopes,
      admin: values.admin ?? false,
      idTokenSignedResponseAlg: values['id-token-signed-response-alg'],
      allowNonceInsteadOfPkce: values['allow-nonce-instead-of-pkce'] ?? false,
      scopesAboutToBeDefined: apiScopes.map((s) => s.name),
      backchannelLogoutUri: values['backchannel-logout-uri'],
      authMethod: values['auth-method'] as ClientInput['authMethod'],
      jwksUri: values['jwks-uri'],
      jwks,
      requirePushedAuthorizationRequests: values['require-pushed-authorization-requests'],
      dpopBoundAccessTokens: values['dpop-bound-access-tokens'],
    },
    [eventBy(CLI_ACTOR, 'client.created', 'success')],
  );
  if (!values['resource-server']) return client;
  const server = await registerResourceServer(
    ctx.db.prisma,
    client.client_id,
    values['resource-server'],
    apiScopes,
    values['resource-name'] ?? values.name,
  );
  return {
    ...client,
    resource_server: {
      identifier: server.identifier,
      name: server.name,
      scopes: server.scopes.map((s) => s.name).join(' '),
    },
  };
}

/** --jwks-file: a JWK Set (public keys) in a JSON file. */
async function readJwksFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new InvalidRequest(`cannot read --jwks-file ${path}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidRequest(`--jwks-file ${path} is not JSON`);
  }
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
  await announceClientChange(ctx, clientId);
  ctx.audit.mirror({ ...event, clientId });
  return { client_id: clientId, client_secret: secret };
}

/**
 * With a shared store, running instances drop their cached copy of the client (and of what depends on it:
 * allowances, APIs) now; embedded, within CLIENT_CACHE_SECONDS. `clientId` '*' means every client.
 */
export async function announceClientChange(ctx: CliContext, clientId: string): Promise<void> {
  if (!ctx.config.redisUrl) return;
  const store = await openStore(ctx.config);
  try {
    await markClientChanged(store, clientId);
  } finally {
    await store.close();
  }
}

/**
 * clients allow --client-id C --resource URI --scopes "a b": the scopes of that API the client may obtain (the
 * complete list; "" takes the allowance away). Audited as client.resource_allowed / client.resource_removed.
 */
export async function clientsAllow(ctx: CliContext, args: string[]) {
  const { values } = parseArgs({
    args,
    options: { 'client-id': { type: 'string' }, resource: { type: 'string' }, scopes: { type: 'string' } },
    strict: true,
  });
  const clientId = values['client-id'];
  if (!clientId) throw new InvalidRequest('--client-id is required');
  if (!values.resource) throw new InvalidRequest('--resource is required (the API identifier)');
  if (values.scopes === undefined) throw new InvalidRequest('--scopes is required ("" takes the allowance away)');
  const { allowance, before } = await setAllowance(
    ctx.db.prisma,
    clientId,
    values.resource,
    values.scopes.split(/\s+/),
  );
  await announceClientChange(ctx, clientId);
  const { audit } = ctx;
  await audit.record({ ...allowanceEvent(CLI_ACTOR, allowance, before), clientId });
  return allowance;
}
