// RFC 9068 JWT access tokens, issued for registered resource servers. A JWT cannot be deleted, so each one is
// also recorded in the short-lived store under the hash of its `jti`, exactly where an opaque token would live:
// revoking a grant or a family deletes that record, and introspection of a JWT then answers inactive. The record
// is marked `format: "jwt"`, which oidc-provider's opaque lookup refuses, so a `jti` is never a bearer token.
//
// oidc-provider refuses JWTs at introspection and revocation (unsupported_token_type) after it has authenticated
// the client; `answerForJwtAccessTokens` takes over at exactly that point (`answerUnsupportedTokens` in internals.ts
// holds that reliance).
import type { JWTPayload } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Middleware } from 'koa';

import type { AdapterFactory } from '../../adapters/index.js';
import { epochNow, type Payload } from '../store/payload.js';
import { JWT_SHAPE, type AccessTokenStatus } from './access-token-status.js';
import { answerUnsupportedTokens } from './internals.js';

type Token = Record<string, unknown> & { kind: string; jti: string };

/** formats.customizers.jwt: records the issued JWT's claims before it is signed. */
export function recordJwtAccessTokens(adapter: AdapterFactory) {
  return async (_ctx: unknown, token: Token, jwt: { payload: JWTPayload }) => {
    const { jti, iat, exp, aud, scope } = jwt.payload;
    if (!jti || !exp) return;
    const record: Payload = {
      kind: token.kind,
      format: 'jwt',
      accountId: token.accountId,
      clientId: token.clientId,
      grantId: token.grantId as string | undefined,
      sessionUid: token.sessionUid,
      expiresWithSession: token.expiresWithSession,
      scope,
      aud,
      iat,
      exp,
      // A token issued by token exchange names the records of the tokens it came from (grants/token-exchange.ts).
      ...(Array.isArray(token.exchangedFrom) ? { exchangedFrom: token.exchangedFrom } : undefined),
    };
    await adapter(token.kind).upsert(jti, record, Math.max(1, exp - epochNow()));
  };
}

export function answerForJwtAccessTokens(deps: { adapter: AdapterFactory; status: AccessTokenStatus }): Middleware {
  const { adapter, status } = deps;

  async function introspect(ctx: KoaContextWithOIDC) {
    const found = await status.activeJwt(String(ctx.oidc.params!.token), ctx.oidc.client!);
    if (!found) return { active: false };
    const { claims } = found;
    return {
      active: true,
      sub: claims.sub,
      client_id: claims.client_id,
      scope: claims.scope,
      exp: claims.exp,
      iat: claims.iat,
      iss: claims.iss,
      aud: claims.aud,
      jti: claims.jti,
      token_type: 'Bearer',
      ...(claims.act ? { act: claims.act } : undefined), // RFC 8693 §4.1: who is acting for the subject
    };
  }

  async function revoke(ctx: KoaContextWithOIDC) {
    const found = await status.liveJwt(String(ctx.oidc.params!.token));
    // RFC 7009 §2.2: unknown, invalid or foreign tokens are answered like revoked ones.
    if (found && found.record.clientId === ctx.oidc.client!.clientId)
      await adapter(found.kind).destroy(String(found.claims.jti));
  }

  // Only JWTs are ours to answer; anything else keeps oidc-provider's refusal.
  return answerUnsupportedTokens(async (ctx, route, token) => {
    if (!JWT_SHAPE.test(token)) return undefined;
    if (route === 'introspection') return introspect(ctx);
    await revoke(ctx);
    return '';
  }) as unknown as Middleware;
}
