// Who may call the admin API: the bearer of an access token issued by the client_credentials grant (RFC 6749 §4.4)
// with the scope `admin`, to a client that still exists and is registered as an admin client. Challenges follow
// RFC 6750 §3: 401 invalid_token without a usable token, 403 insufficient_scope with a token that may not do this.
import type { Middleware } from 'koa';
import type Provider from 'oidc-provider';

import { findClient } from '../clients/client-queries.js';
import type { PrismaClient } from '../db/generated/client.js';
import { Forbidden, Unauthorized } from '../errors.js';

export interface AdminAuthDeps {
  provider: Provider;
  prisma: PrismaClient;
}

/** What a handler knows about its caller. */
export interface AdminState {
  admin: { clientId: string };
}

// RFC 6750 §2.1: "Bearer" b64token. Our opaque tokens are 43 characters; a generous bound spares absurd lookups.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]{1,512}=*) *$/i;

const invalidToken = (description: string) =>
  new Unauthorized(description, {
    headers: { 'WWW-Authenticate': `Bearer error="invalid_token", error_description="${description}"` },
  });

export function requireAdmin({ provider, prisma }: AdminAuthDeps): Middleware {
  return async function requireAdmin(ctx, next) {
    const header = ctx.get('authorization');
    // RFC 6750 §3.1: a request without any authentication gets the bare challenge, no error code in the header.
    if (!header)
      throw new Unauthorized('a Bearer access token with the scope admin is required', {
        headers: { 'WWW-Authenticate': 'Bearer' },
      });
    const value = BEARER.exec(header)?.[1];
    if (!value) throw invalidToken('the Authorization header must carry a Bearer access token');

    const token = await provider.ClientCredentials.find(value);
    if (!token || !token.isValid) throw invalidToken('the access token is invalid, expired or revoked');
    // A DPoP- or mTLS-bound token presented as a plain bearer token is not proof of possession (RFC 9449 §7.2).
    if (token.isSenderConstrained())
      throw invalidToken('a sender-constrained access token cannot be used as a Bearer token');
    const client = token.clientId ? await findClient(prisma, token.clientId) : null;
    if (!client) throw invalidToken('the client this access token was issued to no longer exists');
    // The scope alone is not enough: any client_credentials client may be registered with a scope named admin.
    if (!token.scopes.has('admin') || !client.isAdmin) {
      throw new Forbidden('the access token lacks the scope admin of an admin client', {
        headers: { 'WWW-Authenticate': 'Bearer error="insufficient_scope", scope="admin"' },
      });
    }
    (ctx.state as AdminState).admin = { clientId: client.clientId };
    await next();
  };
}
