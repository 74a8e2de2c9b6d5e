// RFC 9068 JWT access tokens, issued for registered resource servers. A JWT cannot be deleted, so each one is
// also recorded in the short-lived store under the hash of its `jti`, exactly where an opaque token would live:
// revoking a grant or a family deletes that record, and introspection of a JWT then answers inactive. The record
// is marked `format: "jwt"`, which oidc-provider's opaque lookup refuses, so a `jti` is never a bearer token.
//
// oidc-provider refuses JWTs at introspection and revocation (unsupported_token_type) after it has authenticated
// the client; `answerForJwtAccessTokens` takes over at exactly that point.
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type Provider from 'oidc-provider';
import type { Middleware } from 'koa';

import type { AdapterFactory } from '../../adapters/index.js';
import { epochNow, type Payload } from '../store/payload.js';
import type { IntrospectionPolicy } from './introspection-policy.js';

type Token = Record<string, unknown> & { kind: string; jti: string };

/** formats.customizers.jwt: records the issued JWT's claims before it is signed. */
export function recordJwtAccessTokens(adapter: AdapterFactory) {
  return async (_ctx: unknown, token: Token, jwt: { payload: JWTPayload }) => {
    const { jti, iat, exp, aud, scope } = jwt.payload;
    if (!jti || !exp) return;
    const record: Payload = {
      kind: token.kind, format: 'jwt', accountId: token.accountId, clientId: token.clientId, grantId: token.grantId as string | undefined,
      sessionUid: token.sessionUid, expiresWithSession: token.expiresWithSession, scope, aud, iat, exp,
    };
    await adapter(token.kind).upsert(jti, record, Math.max(1, exp - epochNow()));
  };
}

const isJwt = (value: unknown) => typeof value === 'string' && /^[\w-]+\.[\w-]+\.[\w-]+$/.test(value);

export function answerForJwtAccessTokens(deps: { provider: Provider; adapter: AdapterFactory; jwks: () => JWK[]; policy: IntrospectionPolicy }): Middleware {
  const { provider, adapter, policy } = deps;
  // Rebuilt only when the published keys change (a rotation replaces the array).
  let built: { from: JWK[]; set: ReturnType<typeof createLocalJWKSet> } | undefined;
  const keys = () => {
    const current = deps.jwks();
    if (built?.from !== current) built = { from: current, set: createLocalJWKSet({ keys: current }) };
    return built.set;
  };

  /** The live record of a JWT access token we issued, or undefined. */
  async function liveRecord(token: string): Promise<{ record: Payload; claims: JWTPayload; kind: string } | undefined> {
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, keys(), { issuer: provider.issuer, typ: 'at+jwt' }));
    } catch {
      return undefined;
    }
    for (const kind of ['AccessToken', 'ClientCredentials']) {
      const record = await adapter(kind).find(String(claims.jti));
      if (record?.format === 'jwt') return { record, claims, kind };
    }
    return undefined;
  }

  async function introspect(ctx: KoaContextWithOIDC) {
    const found = await liveRecord(String(ctx.oidc.params!.token));
    if (!found) return { active: false };
    const { record, claims } = found;
    const client = ctx.oidc.client!;
    const token = { clientId: record.clientId as string, aud: claims.aud, accountId: record.accountId as string | undefined, iat: claims.iat };
    // The grant first: its lookup also reads the account's not-before, which the policy checks next.
    if (record.grantId && !(await provider.Grant.find(String(record.grantId)))) return { active: false };
    if (!(await policy(client, token))) return { active: false };
    return {
      active: true, sub: claims.sub, client_id: claims.client_id, scope: claims.scope, exp: claims.exp, iat: claims.iat,
      iss: claims.iss, aud: claims.aud, jti: claims.jti, token_type: 'Bearer',
    };
  }

  async function revoke(ctx: KoaContextWithOIDC) {
    const found = await liveRecord(String(ctx.oidc.params!.token));
    // RFC 7009 §2.2: unknown, invalid or foreign tokens are answered like revoked ones.
    if (found && found.record.clientId === ctx.oidc.client!.clientId) await adapter(found.kind).destroy(String(found.claims.jti));
  }

  return async (ctx, next) => {
    await next();
    const oidcCtx = ctx as unknown as KoaContextWithOIDC;
    const route = oidcCtx.oidc?.route;
    if ((route !== 'introspection' && route !== 'revocation') || ctx.status !== 400) return;
    if ((ctx.body as { error?: string })?.error !== 'unsupported_token_type' || !oidcCtx.oidc.client || !isJwt(oidcCtx.oidc.params?.token)) return;
    ctx.status = 200;
    if (route === 'introspection') {
      ctx.body = await introspect(oidcCtx);
    } else {
      await revoke(oidcCtx);
      ctx.body = '';
    }
  };
}
