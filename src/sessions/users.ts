// The accounts whose sessions administrators manage, as they see them: no password hash, and the instant of the
// last "logout everywhere" (not_before), before which every token of the account is inactive.
import {
  findAccountById,
  findAccountByUsername,
  searchAccounts,
  UUID,
  type AccountSearch,
} from '../accounts/account-queries.js';
import type { Account } from '../db/generated/client.js';

export interface UserView {
  id: string;
  username: string;
  email: string | null;
  /** Whether the current email was proven by a verification link. */
  email_verified: boolean;
  created_at: string;
  disabled_at: string | null;
  not_before: string | null;
}

export const toUserView = (a: Account): UserView => ({
  id: a.id,
  username: a.username,
  email: a.email,
  email_verified: a.email !== null && a.emailVerifiedAt !== null,
  created_at: a.createdAt.toISOString(),
  disabled_at: a.disabledAt?.toISOString() ?? null,
  not_before: a.notBefore?.toISOString() ?? null,
});

export { UUID };

/** An account by id; null for an unknown or malformed id (the column is a uuid). */
export const findUser = findAccountById;

export const findUserByUsername = findAccountByUsername;

export type UserSearch = AccountSearch;

/** Accounts in username order (optionally only those matching), after `after`. */
export const listUsers = searchAccounts;
