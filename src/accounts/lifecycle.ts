// What administrators (admin API and CLI) and users themselves (the account page) change about an account, each
// change audited by the statement that makes it. Disabling and deleting cut the account off at once, everywhere:
// the account row is what every instance asks before honouring a token (src/accounts/not-before.ts, findAccount)
// and a sign-in (authenticate), so the change is in force the moment the statement commits; revoking the families
// afterwards also drops their refresh tokens and the access tokens recorded with them.
import type { Audit } from '../audit/audit.js';
import type { Account, PrismaClient } from '../db/generated/client.js';
import { NotFound } from '../errors.js';
import type { Families } from '../families/families.js';
import { unrevokedFamilyIds } from '../families/repository.js';
import { eventBy, type Actor } from '../audit/actor.js';
import { changeAccount, findAccountById } from './account-queries.js';
import { checkEmail, checkNewPassword, createAccount } from './accounts.js';
import { enqueueAccountLogouts, enqueueFamilyLogout } from '../logout/queue.js';
import { hashPassword } from './passwords.js';

export interface LifecycleDeps {
  prisma: PrismaClient;
  families: Families;
  audit: Audit;
  /** Called after an account got a new email address (at creation or by a change): sends the verification link. */
  emailChanged?: ((account: Account) => Promise<void>) | undefined;
}

async function mustFind(prisma: PrismaClient, id: string): Promise<Account> {
  const row = await findAccountById(prisma, id);
  if (!row) throw new NotFound('no such user');
  return row;
}

/**
 * Revokes every family of the account, except `keep` (the device asking), with a session.revoked event each. With
 * `announce`, each revoked device's client gets a back-channel logout naming that session (its sid): queued before
 * the revocation, which empties the stored tokens the sid is read from. (Disabling and deleting tell every client of
 * the account instead.)
 */
export async function revokeFamiliesOf(
  { prisma, families }: LifecycleDeps,
  accountId: string,
  reason: string,
  actor: Actor,
  keep?: string,
  { announce = false }: { announce?: boolean } = {},
): Promise<string[]> {
  const event = eventBy(actor, 'session.revoked', 'revoked', { reason });
  if (!keep && !announce) return (await families.revokeWhere({ accountId }, reason, [event])).map((f) => f.id);
  const others = await unrevokedFamilyIds(prisma, accountId, keep);
  const revoked: string[] = [];
  for (const id of others) {
    if (id === keep) continue;
    if (announce) await enqueueFamilyLogout(prisma, id, 'logged_out_everywhere');
    if (await families.revokeFamily(id, reason, [event])) revoked.push(id);
  }
  return revoked;
}

export async function createUser(
  deps: LifecycleDeps,
  input: { username: string; password: string; email?: string | undefined },
  actor: Actor,
): Promise<Account> {
  const created = await createAccount(deps.prisma, input, [eventBy(actor, 'user.created', 'success')]);
  deps.audit.mirror({ ...eventBy(actor, 'user.created', 'success'), accountId: created.id });
  const account = await mustFind(deps.prisma, created.id);
  if (account.email) await deps.emailChanged?.(account);
  return account;
}

export interface UserChange {
  /** A new address (null removes it). */
  email?: string | null | undefined;
  disabled?: boolean | undefined;
}

/** Applies an email change and/or disables or enables the account; each part audited on its own. */
export async function updateUser(deps: LifecycleDeps, id: string, change: UserChange, actor: Actor): Promise<Account> {
  const before = await mustFind(deps.prisma, id);
  const { prisma, audit } = deps;
  if (change.email !== undefined && change.email !== before.email) {
    if (change.email !== null) checkEmail(change.email);
    const event = eventBy(actor, 'user.updated', 'success', { changed: ['email'] });
    if (!(await changeAccount(prisma, id, 'email', { email: change.email }, [event])))
      throw new NotFound('no such user');
    audit.mirror({ ...event, accountId: id });
  }
  if (change.disabled === true) await disableUser(deps, id, actor);
  if (change.disabled === false) {
    const event = eventBy(actor, 'user.enabled', 'success');
    if (await changeAccount(prisma, id, 'enable', {}, [event])) audit.mirror({ ...event, accountId: id });
    await deps.families.mirror.forgetAccount(id);
  }
  const after = await mustFind(prisma, id);
  if (after.email && after.email !== before.email) await deps.emailChanged?.(after);
  return after;
}

/** Disables the account (idempotent): sign-in refused, every token dead at once, every family revoked. */
export async function disableUser(deps: LifecycleDeps, id: string, actor: Actor): Promise<void> {
  const event = eventBy(actor, 'user.disabled', 'success');
  if (await changeAccount(deps.prisma, id, 'disable', {}, [event])) deps.audit.mirror({ ...event, accountId: id });
  else await mustFind(deps.prisma, id);
  // After the commit (the store's copy of the account is read again from PostgreSQL, src/store/mirror.ts).
  await deps.families.mirror.forgetAccount(id);
  await enqueueAccountLogouts(deps.prisma, id, 'account_disabled'); // back-channel logout to every client concerned
  await revokeFamiliesOf(deps, id, 'user_disabled', actor);
}

/** Deletes the account; its audit trail stays, user.deleted included. Its families are revoked, as on disabling. */
export async function deleteUser(deps: LifecycleDeps, id: string, actor: Actor): Promise<void> {
  const event = eventBy(actor, 'user.deleted', 'success');
  if (!(await changeAccount(deps.prisma, id, 'delete', {}, [event]))) throw new NotFound('no such user');
  await deps.families.mirror.forgetAccount(id);
  deps.audit.mirror({ ...event, accountId: id });
  await enqueueAccountLogouts(deps.prisma, id, 'account_deleted'); // back-channel logout to every client concerned
  await revokeFamiliesOf(deps, id, 'user_deleted', actor);
}

/**
 * Signs the user out everywhere but on `keep` (the device asking): every token issued until now is inactive (the
 * account's not-before), every other family revoked. Audited as user.logged_out_everywhere with the family kept.
 */
export async function signOutOthers(deps: LifecycleDeps, id: string, actor: Actor, keep: string): Promise<string[]> {
  const event = eventBy(actor, 'user.logged_out_everywhere', 'success', { kept_family_id: keep });
  if (!(await changeAccount(deps.prisma, id, 'sign-out', {}, [event]))) throw new NotFound('no such user');
  await deps.families.mirror.forgetAccount(id);
  deps.audit.mirror({ ...event, accountId: id });
  return revokeFamiliesOf(deps, id, 'logged_out_everywhere', actor, keep, { announce: true });
}

/**
 * Sets a new password. With `signOut`, every token issued until now stops working and every family is revoked except
 * `keep` (the device the user changes it from); an administrator's change signs the user out everywhere.
 */
export async function setPassword(
  deps: LifecycleDeps,
  id: string,
  password: string,
  actor: Actor,
  {
    signOut = true,
    keep,
    detail = {},
  }: { signOut?: boolean; keep?: string | undefined; detail?: Record<string, unknown> } = {},
): Promise<string[]> {
  checkNewPassword(password);
  await mustFind(deps.prisma, id);
  const event = eventBy(actor, 'user.password_changed', 'success', detail);
  const passwordHash = await hashPassword(password);
  if (!(await changeAccount(deps.prisma, id, 'password', { passwordHash, signOut }, [event])))
    throw new NotFound('no such user');
  if (signOut) await deps.families.mirror.forgetAccount(id);
  deps.audit.mirror({ ...event, accountId: id });
  if (!signOut) return [];
  return revokeFamiliesOf(deps, id, 'password_changed', actor, keep, { announce: true });
}
