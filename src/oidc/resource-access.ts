// Who may get what (RFC 8707 resource indicators): oidc-provider asks getResourceServerInfo for every resource a
// request names (authorization, PAR, every grant at the token endpoint), and a token for that resource carries
// only scopes of the answer. The answer here is the scopes the API defines AND the client was allowed
// (src/clients/allowances.ts), never the API's whole list:
//   - an unknown API, or one the client has no allowance for: invalid_target (RFC 8707 §2); at the refresh of an
//     existing family whose API was deleted or whose allowance was taken away since: invalid_grant (the grant no
//     longer holds);
//   - where the request itself names scopes (authorization, PAR, client_credentials): none of them allowed is
//     invalid_scope. Requested scopes the client is not allowed are dropped, and the response's `scope` says what
//     was granted (RFC 6749 §3.3).
import type { KoaContextWithOIDC } from 'oidc-provider';

import type { AllowanceLookup } from '../clients/allowances.js';
import type { ResourceServerLookup } from '../clients/resource-servers.js';
import { BUILT_IN_SCOPE_SET } from '../clients/scopes.js';
import { InvalidGrant, InvalidScope, InvalidTarget } from '../errors.js';

export interface ResourceAccessDeps {
  resourceServers: ResourceServerLookup;
  allowances: AllowanceLookup;
  accessTokenTtl: number;
  signingAlg: string;
}

/** Routes and grants where `scope` is what this request asks for (elsewhere it narrows an earlier grant). */
function scopeIsRequested(ctx: KoaContextWithOIDC): boolean {
  const { route, params } = ctx.oidc;
  if (
    [
      'authorization',
      'pushed_authorization_request',
      'resume',
      'device_authorization',
      'backchannel_authentication',
    ].includes(String(route))
  )
    return true;
  return route === 'token' && params?.grant_type === 'client_credentials';
}

export function createResourceServerInfo({
  resourceServers,
  allowances,
  accessTokenTtl,
  signingAlg,
}: ResourceAccessDeps) {
  return async function getResourceServerInfo(
    ctx: KoaContextWithOIDC,
    indicator: string,
    client: { clientId: string },
  ) {
    const server = await resourceServers.find(indicator);
    const refreshing = ctx.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'refresh_token';
    if (!server) {
      // A family's own API, deleted since, is a grant that no longer holds; a `resource` the request names is a target.
      if (refreshing && !ctx.oidc.params?.resource)
        throw new InvalidGrant(`the API ${indicator} of this refresh token no longer exists; sign in again`);
      throw new InvalidTarget(`unknown resource server ${indicator}`);
    }
    const defined = new Set(server.scopes.map((s) => s.name));
    const allowed = (await allowances.allowedScopes(client.clientId, indicator))?.filter((s) => defined.has(s)) ?? [];
    if (allowed.length === 0) {
      if (refreshing) {
        throw new InvalidGrant(`this client is no longer allowed any scope of ${indicator}; sign in again`);
      }
      throw new InvalidTarget(`client ${client.clientId} is not allowed any scope of ${indicator}`);
    }
    if (scopeIsRequested(ctx)) {
      const requested = String(ctx.oidc.params?.scope ?? '')
        .split(' ')
        .filter((s) => s && !BUILT_IN_SCOPE_SET.has(s));
      if (!requested.some((s) => allowed.includes(s))) {
        throw new InvalidScope(
          `none of the requested scopes is allowed for ${indicator}; this client may request: ${allowed.join(' ')}`,
        );
      }
    }
    return {
      scope: allowed.join(' '),
      audience: server.identifier,
      accessTokenTTL: accessTokenTtl,
      accessTokenFormat: 'jwt' as const,
      jwt: { sign: { alg: signingAlg } },
    };
  };
}
