// Rows already read during this request, so that oidc-provider's own lookups (Grant.find, findAccount) made later
// in the same request do not read them again. The refresh grant reads its token, family, grant and account from the
// token's snapshot (or in one query) and primes this memo; that is how a refresh costs one PostgreSQL round trip. Only the current
// request sees it (it lives on the Koa context), so nothing here can go stale.
export interface MemoAccount {
  id: string;
  username: string;
  email: string | null;
  emailVerifiedAt: Date | null;
  disabledAt: Date | null;
}

/** What decides whether an account's tokens still count: its not-before instant, and whether it is disabled. */
export interface AccountGate {
  notBefore: Date | null;
  disabled: boolean;
}

export interface MemoGrant {
  payload: Record<string, unknown>;
  expiresAt: Date | null;
}

export interface RequestMemo {
  /** Keyed by the hash of the grant id; null records a known absence. */
  grants: Map<string, MemoGrant | null>;
  accounts: Map<string, MemoAccount | null>;
  /** Accounts' logout-everywhere instants (null: never) and whether they are disabled, read with their grant; null
   * records a known absence (the account is gone). */
  notBefore: Map<string, AccountGate | null>;
}

interface WithState {
  state?: Record<string, unknown>;
}

export function memoOf(ctx: WithState): RequestMemo {
  ctx.state ??= {};
  let memo = ctx.state.memo as RequestMemo | undefined;
  if (!memo) {
    memo = { grants: new Map(), accounts: new Map(), notBefore: new Map() };
    ctx.state.memo = memo;
  }
  return memo;
}

export const peekMemo = (ctx: WithState | undefined): RequestMemo | undefined =>
  ctx?.state?.memo as RequestMemo | undefined;
