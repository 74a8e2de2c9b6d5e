// The JWS algorithms Tollgate keeps signing keys for: ES256 by default, RS256 because OpenID Connect Core §15.1
// requires it to be offered. Below the protocol layer, so that client validation can name them too.
export const SIGNING_ALGS = ['ES256', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

export const isSigningAlg = (value: unknown): value is SigningAlg => SIGNING_ALGS.includes(value as SigningAlg);
