// Types for the oidc-provider modules that src/oidc/internals.ts imports directly (the package ships no types
// for its lib/ folder). Only what internals.ts uses is declared.
declare module 'oidc-provider/lib/helpers/als.js' {
  import type { AsyncLocalStorage } from 'node:async_hooks';
  const als: AsyncLocalStorage<import('oidc-provider').KoaContextWithOIDC>;
  export default als;
}

declare module 'oidc-provider/lib/helpers/grants.js' {
  type Ctx = import('oidc-provider').KoaContextWithOIDC;
  type Provider = import('oidc-provider').default;
  export function validateGrant(provider: Provider, ctx: Ctx, grantId: string): Promise<import('oidc-provider').Grant>;
  export function validateDpop(
    provider: Provider,
    ctx: Ctx,
  ): Promise<{ thumbprint: string; jti: string; iat: number } | undefined>;
  export function checkDpopRequired(provider: Provider, ctx: Ctx, dPoP: unknown): void;
  export function checkDpopReplay(
    provider: Provider,
    ctx: Ctx,
    dPoP: unknown,
    clientId: string,
    ErrorClass: unknown,
  ): Promise<void>;
  export function applyAuthorizationDetails(
    provider: Provider,
    ctx: Ctx,
    token: unknown,
    source: unknown,
  ): Promise<void>;
  export function buildTokenResponse(provider: Provider, input: Record<string, unknown>): Record<string, unknown>;
}

declare module 'oidc-provider/lib/helpers/grant_common.js' {
  type Ctx = import('oidc-provider').KoaContextWithOIDC;
  type Provider = import('oidc-provider').default;
  export function validateAccount(
    provider: Provider,
    ctx: Ctx,
    source: unknown,
    label: string,
  ): Promise<import('oidc-provider').Account>;
  export function checkAccountMismatch(source: unknown, grant: unknown): void;
  export function createAccessToken(
    provider: Provider,
    ctx: Ctx,
    source: Record<string, unknown>,
    gty?: string,
  ): import('oidc-provider').AccessToken;
  export function issueIdToken(
    provider: Provider,
    ctx: Ctx,
    source: unknown,
    at: unknown,
    grant: unknown,
    scope?: Set<string>,
  ): Promise<string | undefined>;
}

declare module 'oidc-provider/lib/helpers/resolve_resource.js' {
  const resolveResource: (
    ctx: unknown,
    model: unknown,
    config: unknown,
    scopes?: Set<string>,
  ) => Promise<string | undefined>;
  export default resolveResource;
}

declare module 'oidc-provider/lib/helpers/configuration_result.js' {
  export function resourceServer(value: unknown): Record<string, unknown>;
}

declare module 'oidc-provider/lib/helpers/weak_cache.js' {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- oidc-provider's configuration is untyped JavaScript
  const instance: (provider: unknown) => { configuration: Record<string, any> };
  export default instance;
}

declare module 'oidc-provider/lib/actions/token.js' {
  const stack: ((ctx: import('oidc-provider').KoaContextWithOIDC, next: () => Promise<void>) => Promise<unknown>)[];
  export default stack;
}

declare module 'oidc-provider/lib/actions/introspection.js' {
  const stack: ((ctx: import('oidc-provider').KoaContextWithOIDC, next: () => Promise<void>) => Promise<unknown>)[];
  export default stack;
}

declare module 'oidc-provider/lib/actions/revocation.js' {
  const stack: ((ctx: import('oidc-provider').KoaContextWithOIDC, next: () => Promise<void>) => Promise<unknown>)[];
  export default stack;
}

declare module 'oidc-provider/lib/actions/grants/device_code.js' {
  type Ctx = import('oidc-provider').KoaContextWithOIDC;
  type Provider = import('oidc-provider').default;
  export const handler: (provider: Provider, helpers: Record<string, unknown>, ctx: Ctx) => Promise<void>;
  export const parameters: Set<string>;
  export const grantType: string;
}

declare module 'oidc-provider/lib/helpers/initialize_keystore.js' {
  export default function initializeKeystore(this: import('oidc-provider').default, jwks: { keys: object[] }): void;
}
