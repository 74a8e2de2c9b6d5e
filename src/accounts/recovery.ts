// Password reset and email verification by mail. A reset request answers the same whether or not an account has
// the address, and does its work (link, mail, audit) after the answer, so that its timing says nothing either.
// Using a reset link sets the password and signs the account out everywhere: every family revoked, every token
// issued until then inactive. A verification link proves the address it was sent to, as long as it is still the
// account's address.
import type { Logger } from '../observability/logger.js';
import type { Account } from '../db/generated/client.js';
import { findEnabledAccountsByEmail, markEmailVerified } from './account-queries.js';
import { eventBy, type Actor } from '../audit/actor.js';
import { setPassword, type LifecycleDeps } from './lifecycle.js';
import type { TokenHasher } from '../crypto/token-hash.js';
import type { Mailer } from '../mail/mailer.js';
import { consumeLink, issueLink, LINK_TTL_SECONDS } from './links.js';

export interface RecoveryDeps extends LifecycleDeps {
  hash: TokenHasher;
  mailer: Mailer;
  logger: Logger;
  issuer: string;
  brandName: string;
}

const minutes = (seconds: number) => Math.round(seconds / 60);

/** Sends a verification link for the account's current address (after a creation or a change). */
export async function sendVerification(deps: RecoveryDeps, account: Account): Promise<void> {
  if (!account.email) return;
  const token = await issueLink(deps, account.id, 'email_verification', account.email);
  await deps.mailer.send({
    to: account.email,
    subject: `Confirm your email address for ${deps.brandName}`,
    text: `Hello ${account.username},

please confirm that this address is yours by opening this link within ${LINK_TTL_SECONDS.email_verification / 3600} hours:

${deps.issuer}/account/verify?token=${token}

If you did not expect this mail, you can ignore it.
`,
  });
}

/** The emailChanged hook of the lifecycle: a failed mail is logged, not thrown (the change itself stands). */
export const verificationHook = (deps: RecoveryDeps) => async (account: Account) => {
  try {
    await sendVerification(deps, account);
  } catch (err) {
    deps.logger.warn({ err, accountId: account.id }, 'verification mail could not be sent');
  }
};

/** A reset request for `email`: a link to each enabled account with that address (a few at most). */
export async function requestPasswordReset(deps: RecoveryDeps, email: string, actor: Actor): Promise<number> {
  const accounts = await findEnabledAccountsByEmail(deps.prisma, email, 3);
  for (const account of accounts) {
    const token = await issueLink(deps, account.id, 'password_reset');
    const event = { ...eventBy(actor, 'user.password_reset_requested', 'success'), accountId: account.id };
    await deps.audit.record(event);
    await deps.mailer.send({
      to: account.email!,
      subject: `Reset your ${deps.brandName} password`,
      text: `Hello ${account.username},

someone (probably you) asked to reset the password of this account. Choose a new one within ${minutes(LINK_TTL_SECONDS.password_reset)} minutes here:

${deps.issuer}/account/reset?token=${token}

The link works once. If you did not ask for it, ignore this mail: your password stays as it is.
`,
    });
  }
  return accounts.length;
}

/** Uses a reset link: the new password is set and every device signed out. False when the link is not usable. */
export async function resetPassword(
  deps: RecoveryDeps,
  token: string,
  password: string,
  actor: Actor,
): Promise<boolean> {
  const used = await consumeLink(deps, 'password_reset', token);
  if (!used) return false;
  await setPassword(deps, used.accountId, password, actor, { signOut: true, detail: { reason: 'password_reset' } });
  return true;
}

/** Uses a verification link: the address is marked verified if it is still the account's. */
export async function verifyEmail(deps: RecoveryDeps, token: string, actor: Actor): Promise<string | undefined> {
  const used = await consumeLink(deps, 'email_verification', token);
  if (!used?.email) return undefined;
  const event = { ...eventBy(actor, 'user.email_verified', 'success', {}), accountId: used.accountId };
  const verified = await markEmailVerified(deps.prisma, used.accountId, used.email, [event]);
  if (verified === undefined) return undefined;
  deps.audit.mirror(event);
  return verified;
}
