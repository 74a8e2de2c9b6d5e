// When PKCE may be omitted. OAuth 2.1 §4.1.1 and RFC 9700 §2.1.1: PKCE for every client. The one exception OAuth
// 2.1 §7.5.1 allows: a confidential client that uses the OpenID Connect `nonce`, when the server has reasonable
// assurance it checks it. That assurance is an administrator's decision, per client (`allow_nonce_instead_of_pkce`,
// off by default, refused for public clients, never self-granted through registration). For such a client an
// authorization request without `code_challenge` must then carry `scope=openid` and a `nonce`.
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

/** Client metadata property (Tollgate's own, registered with oidc-provider as extra client metadata). */
export const NONCE_INSTEAD_OF_PKCE = 'allow_nonce_instead_of_pkce';

interface ClientLike {
  clientAuthMethod?: string;
  metadata(): Record<string, unknown>;
}

/** oidc-provider's `pkce.required`: called only for requests without a code_challenge. */
export function pkceRequired(ctx: KoaContextWithOIDC, client: ClientLike): boolean {
  if (client.metadata()[NONCE_INSTEAD_OF_PKCE] !== true || client.clientAuthMethod === 'none') return true;
  const params = ctx.oidc.params as Record<string, unknown>;
  const openid = String(params.scope ?? '')
    .split(' ')
    .includes('openid');
  if (openid && typeof params.nonce === 'string' && params.nonce.length > 0) return false;
  throw new errors.InvalidRequest(
    'PKCE is required; this client may omit it only in an OpenID Connect request (scope openid) with a nonce',
  );
}

/** Validates the property wherever oidc-provider builds a client; registration may not set it (see above). */
export function validateNonceInsteadOfPkce(value: unknown, route: string | undefined): void {
  if (value !== undefined && typeof value !== 'boolean')
    throw new errors.InvalidClientMetadata(`${NONCE_INSTEAD_OF_PKCE} must be a boolean`);
  if (value === true && (route === 'registration' || route === 'client_update')) {
    throw new errors.InvalidClientMetadata(
      `${NONCE_INSTEAD_OF_PKCE} is granted by an administrator (CLI or admin API), not through registration`,
    );
  }
}
