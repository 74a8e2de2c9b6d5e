// Whether an access token Tollgate issued is still active, and for which client: the one rule that introspection
// (RFC 7662) of JWTs and token exchange (RFC 8693, grants/token-exchange.ts) both apply. A token is active when:
//   - opaque: it is in the short-lived store and unexpired (AccessToken.find, as oidc-provider's introspection);
//   - JWT (RFC 9068): it is signed by a published key, unexpired, and its record (under the hash of its `jti`,
//     src/oidc/jwt-access-tokens.ts) is still in the store: revoking the token, its family or its grant deletes it;
//   - issued by token exchange: every token it was exchanged from is still in the store as well;
//   - its grant, if it has one, still holds (oidc-provider's own introspection checks, applied to both formats);
//   - the introspection policy (src/oidc/introspection-policy.ts) lets the asking client see it: the client holds
//     the token or stands for its audience, the account is enabled and not logged out everywhere since, and the
//     token's client and APIs still exist.
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type Provider from 'oidc-provider';

import type { AdapterFactory } from '../../adapters/index.js';
import { UUID } from '../accounts/account-queries.js';
import type { TokenHasher } from '../crypto/token-hash.js';
import { currentRequest } from '../request/context.js';
import { memoOf } from '../request/memo.js';
import { storeKeyFor } from '../store/keys.js';
import type { AccountState, GrantState, Mirror } from '../store/mirror.js';
import { epochNow, type Payload } from '../store/payload.js';
import type { ShortLivedStore } from '../store/types.js';
import type { IntrospectingClient, IntrospectionPolicy } from './introspection-policy.js';

/** RFC 8693 §4.1: the actor, and the actor before it when the token was exchanged more than once. */
export interface Actor {
  sub: string;
  act?: Actor;
}

/** What the token exchange needs to know of an active access token, whatever its format. */
export interface ActiveAccessToken {
  format: 'jwt' | 'opaque';
  /** Where its record lives in the short-lived store (the hash of its value or `jti`, never the value). */
  storeKey: string;
  clientId: string;
  accountId: string | undefined;
  scope: string;
  exp: number;
  act: Actor | undefined;
  /** Store keys of the tokens it was exchanged from, nearest first (empty unless issued by token exchange). */
  exchangedFrom: string[];
}

/** A live JWT access token: its verified claims and its record. */
export interface LiveJwt {
  claims: JWTPayload;
  record: Payload;
  kind: string;
}

export const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;
const JWT_KINDS = ['AccessToken', 'ClientCredentials'];

export interface AccessTokenStatusDeps {
  provider: Provider;
  adapter: AdapterFactory;
  store: ShortLivedStore;
  hash: TokenHasher;
  /** The store's copy of grants and accounts (src/store/mirror.ts). */
  mirror: Mirror;
  /** An account's state in PostgreSQL, to fill that copy (src/accounts/not-before.ts). */
  loadAccountState(accountId: string): Promise<AccountState | null>;
  /** The keys published right now (a rotation replaces the array). */
  jwks: () => JWK[];
  policy: IntrospectionPolicy;
}

const stringList = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
const actorOf = (value: unknown): Actor | undefined =>
  value && typeof value === 'object' && typeof (value as Actor).sub === 'string' ? (value as Actor) : undefined;

export function createAccessTokenStatus({
  provider,
  adapter,
  store,
  hash,
  mirror,
  loadAccountState,
  jwks,
  policy,
}: AccessTokenStatusDeps) {
  // Rebuilt only when the published keys change.
  let built: { from: JWK[]; set: ReturnType<typeof createLocalJWKSet> } | undefined;
  const keys = () => {
    const current = jwks();
    if (built?.from !== current) built = { from: current, set: createLocalJWKSet({ keys: current }) };
    return built.set;
  };

  /** A token from an exchange lives only as long as each token it came from: all their records must remain. */
  async function ancestorsAlive(record: Payload): Promise<boolean> {
    const from = stringList(record.exchangedFrom);
    if (from.length === 0) return true;
    return (await store.getMany(from)).every((value) => value !== null && value !== undefined);
  }

  /** The live record of a JWT access token we issued (of the given kinds), or undefined. */
  async function liveJwt(value: string, kinds = JWT_KINDS): Promise<LiveJwt | undefined> {
    if (!JWT_SHAPE.test(value)) return undefined;
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(value, keys(), { issuer: provider.issuer, typ: 'at+jwt' }));
    } catch {
      return undefined;
    }
    for (const kind of kinds) {
      const record = await adapter(kind).find(String(claims.jti));
      if (record?.format === 'jwt') return (await ancestorsAlive(record)) ? { record, claims, kind } : undefined;
    }
    return undefined;
  }

  /**
   * oidc-provider's introspection checks of a token's grant (lib/actions/introspection.js), on the store's copy of
   * the grant (src/store/mirror.ts): no PostgreSQL round trip unless the copy is missing. The copy of the token's
   * account comes in the same store read and is left in the request memo, where the policy's not-before check finds
   * it next.
   */
  async function grantHolds(token: { grantId?: unknown; clientId?: unknown; accountId?: unknown }): Promise<boolean> {
    if (!token.grantId) return true;
    const grantId = String(token.grantId);
    const accountId = typeof token.accountId === 'string' && UUID.test(token.accountId) ? token.accountId : undefined;
    let grant: GrantState | null | undefined;
    if (accountId === undefined) grant = await adapter.grantState(grantId);
    else {
      const both = await mirror.grantAndAccount(
        { idHash: hash(grantId), load: () => adapter.loadGrantState(grantId) },
        { id: accountId, load: () => loadAccountState(accountId) },
      );
      const ctx = currentRequest();
      if (ctx) memoOf(ctx).notBefore.set(accountId, both.account);
      grant = both.grant && (both.grant.exp === undefined || both.grant.exp > epochNow()) ? both.grant : undefined;
    }
    return Boolean(grant && grant.clientId === token.clientId && grant.accountId === token.accountId);
  }

  /** The JWT's claims and record when it is active for `client` (introspection's answer), else undefined. */
  async function activeJwt(
    value: string,
    client: IntrospectingClient,
    kinds = JWT_KINDS,
  ): Promise<LiveJwt | undefined> {
    const found = await liveJwt(value, kinds);
    if (!found) return undefined;
    const { record, claims } = found;
    if (!(await grantHolds(record))) return undefined;
    const token = {
      clientId: record.clientId as string,
      aud: claims.aud,
      accountId: record.accountId as string | undefined,
      iat: claims.iat,
    };
    return (await policy(client, token)) ? found : undefined;
  }

  /** An opaque user access token (AccessToken, not ClientCredentials) active for `client`, or undefined. */
  async function activeOpaque(value: string, client: IntrospectingClient): Promise<ActiveAccessToken | undefined> {
    const token = await provider.AccessToken.find(value);
    if (!token?.isValid || !(await grantHolds(token))) return undefined;
    const t = token as typeof token & { aud?: string | string[]; extra?: { act?: unknown } };
    if (!(await policy(client, { clientId: t.clientId, aud: t.aud, accountId: t.accountId, iat: t.iat })))
      return undefined;
    return {
      format: 'opaque',
      storeKey: storeKeyFor(hash, 'AccessToken', value),
      clientId: String(t.clientId),
      accountId: t.accountId,
      scope: t.scope ?? '',
      exp: Number(t.exp),
      act: actorOf(t.extra?.act),
      exchangedFrom: [],
    };
  }

  return {
    liveJwt,
    activeJwt,
    /** A user's access token (either format) active for `client`, or undefined. */
    async activeUserToken(value: string, client: IntrospectingClient): Promise<ActiveAccessToken | undefined> {
      if (!JWT_SHAPE.test(value)) return activeOpaque(value, client);
      const found = await activeJwt(value, client, ['AccessToken']);
      if (!found) return undefined;
      const { claims, record } = found;
      return {
        format: 'jwt',
        storeKey: storeKeyFor(hash, 'AccessToken', String(claims.jti)),
        clientId: String(record.clientId),
        accountId: record.accountId as string | undefined,
        scope: typeof claims.scope === 'string' ? claims.scope : '',
        exp: Number(claims.exp),
        act: actorOf(claims.act),
        exchangedFrom: stringList(record.exchangedFrom),
      };
    },
  };
}

export type AccessTokenStatus = ReturnType<typeof createAccessTokenStatus>;
