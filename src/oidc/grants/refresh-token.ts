// The refresh_token grant (RFC 6749 §6), registered over oidc-provider's own. Each refresh token is single use
// and belongs to a family; presenting it rotates the family in one atomic statement. A token presented again:
//   - inside the grace window, while its successor is unused: the first response again (no new branch);
//   - otherwise: reuse. The family, and only that family, is revoked with the access tokens issued from it
//     (REUSE_RESPONSE=account: then every family of the account, the account logged out everywhere).
// Each rotation is compared with the family's previous use (src/anomalies): the signals are written by the
// rotation's own statement; ANOMALY_RESPONSE=revoke refuses a rotation from another device or an impossible place.
// Concurrent presentations agree through the grace cache (one claimant rotates, the others read its response)
// and, with no grace window, through the database's conditional write (one wins, the rest are reuse).
//
// A DOCUMENTED FORK of oidc-provider's grant. test/oidc/upstream-grant.test.ts fails when the installed file
// differs from the one recorded here, so an upgrade of oidc-provider forces a review of this list.
//   upstream: oidc-provider@9.13.3 lib/actions/grants/refresh_token.js
//   upstream-sha256: d3bcebb1e448545e0deff5b935f6233964b69c40f5ab2f639c6fdb5e81c5c1d2
// Deliberate deviations:
//   - lookup: the token's snapshot (one store read, src/families/token-snapshots.ts), else `Families.findToken` (one
//     SQL statement: token, family, grant and account, by the HMAC of the value) instead of `RefreshToken.find`;
//     family ownership, revocation and absolute expiry are checked on that row. A rotation built on a snapshot
//     commits only if the rows still say what the snapshot said; anything else is answered from the lookup;
//   - `rotateRefreshToken` is not consulted: every client rotates (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2);
//   - a consumed token is not "destroy + revoke the grant": inside the grace window it gets the first response
//     again, otherwise only its family is revoked (reuse detection that revokes exactly the compromised family);
//   - consume-and-save-successor is one conditional statement (`commitRotation`), made after the response is built,
//     instead of `consume()` then `save()`: a failure consumes nothing, and racing instances cannot both win;
//   - the access token is issued without saving (`issueWithoutSaving`) and written in one batch with the grace claim;
//   - a rotation is counted against the family's velocity limit (429 beyond it);
//   - an account that is gone or disabled revokes the family, besides refusing the request;
//   - each rotation is assessed for anomaly signals (src/anomalies), recorded by the rotating statement, and with
//     ANOMALY_RESPONSE=revoke some refuse it and revoke the family; REUSE_RESPONSE=account widens reuse revocation;
//   - `checkDpopReplay` runs before `validateGrant` (a replayed proof costs no grant lookup); the grace path, which
//     upstream does not have, checks the proof the same way (required, single use, of the bound key).
// Upstream checks omitted, and why:
//   - mTLS (`x5t#S256`, `getCertificate`, `applyMtlsBinding`): the mTLS feature is not enabled in configuration.ts;
//   - attestation binding (`attest_jwt_client_auth*`): those client authentication methods are not enabled;
//   - the session binding of `RefreshToken.find` (`expiresWithSession`): refresh tokens are issued only with
//     `offline_access`, so oidc-provider's default makes them outlive the browser session. Should that change, the
//     grant refuses such a token (`refuseSessionBound` below) rather than skip the check silently.
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

import { REVOCABLE, type AnomalyDetector, type Assessment } from '../../anomalies/detector.js';
import type { Audit, AuditEvent } from '../../audit/audit.js';
import type { AllowanceLookup } from '../../clients/allowances.js';
import { BUILT_IN_SCOPE_SET } from '../../clients/scopes.js';
import type { TokenHasher } from '../../crypto/token-hash.js';
import { InvalidGrant, InvalidRequest, InvalidScope, isDependencyFailure, TooManyRequests } from '../../errors.js';
import type { Families } from '../../families/families.js';
import type { GraceCache, Rotation, TokenResponse } from '../../families/grace-cache.js';
import { rotationCheckOf, type RotationCheck, type TokenRow } from '../../families/repository.js';
import { successorRow, type TokenSnapshots } from '../../families/token-snapshots.js';
import { deviceOf, type Device } from '../../request/device.js';
import { memoOf } from '../../request/memo.js';
import type { Metrics, RefreshOutcome } from '../../observability/metrics.js';
import type { ShortLivedStore } from '../../store/types.js';
import { storeKeyFor } from '../../store/keys.js';
import {
  checkAccountMismatch,
  createAccessToken,
  grantHelpers,
  issueIdToken,
  issueWithoutSaving,
  providerConfiguration,
  resolveResource,
  tokenValueAndPayload,
  validateAccount,
  validateResourceServer,
} from '../internals.js';

export const grantType = 'refresh_token';
export const parameters = ['refresh_token', 'scope'];

export interface RefreshGrantDeps {
  provider: Provider;
  families: Families;
  grace: GraceCache;
  audit: Audit;
  store: ShortLivedStore;
  hash: TokenHasher;
  metrics: Pick<Metrics, 'refreshOutcome' | 'refreshAnomaly'>;
  allowances: AllowanceLookup;
  anomalies: AnomalyDetector;
  snapshots: TokenSnapshots;
}

type Ctx = KoaContextWithOIDC;
type RefreshTokenModel = InstanceType<Provider['RefreshToken']> & Record<string, unknown>;
type DPoP = Awaited<ReturnType<typeof grantHelpers.validateDpop>>;

// Opaque tokens are 43 characters of base64url; anything far off that is not ours and not worth a lookup.
const TOKEN_SHAPE = /^[A-Za-z0-9_~.+/=-]{16,512}$/;

/** See the header: session-bound refresh tokens would need the upstream session check this fork omits. */
function refuseSessionBound(token: RefreshTokenModel): void {
  if (token.expiresWithSession)
    throw new InvalidGrant('refresh token is bound to a browser session this server does not track');
}

/**
 * What the snapshot path did before giving up, so that the lookup path, which then answers, does it only once:
 * the DPoP proof spent (its jti recorded), the velocity count made, the grace claim lost to another request.
 */
interface Attempt {
  proofChecked: boolean;
  counted?: Promise<number | undefined>;
  claimLost?: boolean;
}

/** The snapshot path met something it leaves to the lookup path (which revokes, or refuses, on fresh rows). */
class LeaveToLookup extends Error {}

export function createRefreshTokenGrant({
  provider,
  families,
  grace,
  audit,
  store,
  hash,
  metrics,
  allowances,
  anomalies,
  snapshots,
}: RefreshGrantDeps) {
  /** Names what happened to this refresh, for the metrics (read once the request is over). */
  const outcome = (ctx: Ctx, value: RefreshOutcome) => {
    ctx.state.refreshOutcome = value;
  };
  const device = (ctx: Ctx) => deviceOf(ctx);

  function readPresentedToken(ctx: Ctx): string {
    const value = ctx.oidc.params?.refresh_token;
    if (typeof value !== 'string' || !value) throw new InvalidRequest('missing required parameter(s) (refresh_token)');
    if (!TOKEN_SHAPE.test(value)) throw new InvalidGrant('refresh token not found');
    return value;
  }

  /** The lookup (or snapshot) also read the grant and the account: oidc-provider's checks will find them here. */
  function primeMemo(ctx: Ctx, row: TokenRow): void {
    const memo = memoOf(ctx);
    memo.grants.set(row.family.grantId, row.grant);
    memo.accounts.set(row.family.accountId, row.account);
  }

  /** Checks that need nothing but the row: ownership, revocation, absolute expiry. */
  function checkFamily(ctx: Ctx, row: TokenRow | undefined): TokenRow {
    if (!row) throw new InvalidGrant('refresh token not found');
    primeMemo(ctx, row);
    if (row.family.clientId !== ctx.oidc.client!.clientId)
      throw new InvalidGrant('refresh token was issued to another client');
    if (row.family.revokedAt) throw new InvalidGrant('refresh token has been revoked');
    if (row.family.expiresAt.getTime() <= Date.now()) {
      outcome(ctx, 'expired');
      throw new InvalidGrant('refresh token family has expired; sign in again');
    }
    return row;
  }

  async function revokeForReuse(ctx: Ctx, row: TokenRow, why: string): Promise<never> {
    const at = device(ctx);
    const events: AuditEvent[] = [
      { type: 'refresh_token.reuse_detected', outcome: 'revoked', ...at, detail: { generation: row.generation, why } },
      { type: 'refresh_token.family_revoked', outcome: 'revoked', ...at, detail: { reason: 'reuse_detected' } },
    ];
    await families.revokeFamily(row.family.id, 'reuse_detected', events);
    if (families.policy.reuseResponse === 'account') {
      // "Reuse of an invalidated refresh token → immediate account lockdown": every device of the account.
      const reason = { reason: 'reuse_detected', family_id: row.family.id, client_id: row.family.clientId };
      await families.logOutAccount(
        row.family.accountId,
        'reuse_detected',
        [{ type: 'user.logged_out_everywhere', outcome: 'success', ...at, detail: reason }],
        [{ type: 'refresh_token.family_revoked', outcome: 'revoked', ...at, detail: reason }],
      );
    }
    outcome(ctx, 'reuse_detected');
    throw new InvalidGrant('refresh token was already used; this sign-in has been revoked, sign in again');
  }

  /**
   * A consumed token presented again: the cached first response inside the window, reuse otherwise. Its DPoP proof
   * is held to the normal path's rules (RFC 9449 §11.1): required for a bound token, of the bound key, and used
   * once; `proofChecked` when this request already spent its proof on the normal path (a lost race).
   */
  async function replayOrReuse(ctx: Ctx, row: TokenRow, dPoP: DPoP, proofChecked = false): Promise<void> {
    if (!grace.enabled) return revokeForReuse(ctx, row, 'strict rotation');
    const rotation = await grace.read(row.id);
    if (!rotation) return revokeForReuse(ctx, row, 'grace window passed');
    const successor = await families.consumedAt(rotation.successor.hash);
    if (successor?.consumedAt) return revokeForReuse(ctx, row, 'successor already used');
    if (!successor && !(await commitRotation(row, rotation, device(ctx)))) {
      // A rotation built on a snapshot that no longer holds: not reuse. Its claimant answers from the lookup.
      if (rotation.check && !(await families.consumedAt(row.id))?.consumedAt)
        throw new InvalidGrant('refresh token is being rotated by another request; retry');
      return revokeForReuse(ctx, row, 'token consumed into another successor');
    }
    const jkt = rotation.successor.payload.jkt;
    if (!proofChecked) {
      grantHelpers.checkDpopRequired(provider, ctx, dPoP);
      await grantHelpers.checkDpopReplay(provider, ctx, dPoP, ctx.oidc.client!.clientId, InvalidGrant);
    }
    if (jkt && dPoP?.thumbprint !== jkt) throw new InvalidGrant('failed jkt verification');
    outcome(ctx, 'grace_replayed');
    ctx.body = rotation.response;
  }

  function commitRotation(row: TokenRow, rotation: Rotation, at: Device, anomaly?: Assessment) {
    return families.rotate({
      signals: anomaly,
      parentHash: row.id,
      childHash: rotation.successor.hash,
      childPayload: rotation.successor.payload,
      childExpiresAt: new Date(rotation.successor.expiresAt),
      usedAt: new Date(rotation.successor.usedAt ?? Date.now()),
      audit: { type: 'refresh_token.rotated', outcome: 'success', ...at },
      check: rotation.check,
    });
  }

  /**
   * Sender constraints, grant, scope and account: what oidc-provider's own grant checks, in the same order. On a
   * snapshot (`fromSnapshot`) nothing is revoked: an unavailable account is left to the lookup path.
   */
  async function validate(
    ctx: Ctx,
    row: TokenRow,
    presented: string,
    dPoP: DPoP,
    attempt: Attempt,
    fromSnapshot = false,
  ) {
    if (!row.payload) throw new InvalidGrant('refresh token not found');
    if (row.expiresAt.getTime() <= Date.now()) {
      outcome(ctx, 'expired');
      throw new InvalidGrant('refresh token has expired');
    }
    const token = new provider.RefreshToken({ ...row.payload, jti: presented } as never) as RefreshTokenModel;
    refuseSessionBound(token);
    grantHelpers.checkDpopRequired(provider, ctx, dPoP);
    if (!attempt.proofChecked) {
      await grantHelpers.checkDpopReplay(provider, ctx, dPoP, ctx.oidc.client!.clientId, InvalidGrant);
      attempt.proofChecked = true;
    }
    if (token.jkt && (!dPoP || token.jkt !== dPoP.thumbprint)) throw new InvalidGrant('failed jkt verification');

    const grant = await grantHelpers.validateGrant(provider, ctx, String(token.grantId));
    if (ctx.oidc.params!.scope) {
      const missing = [...ctx.oidc.requestParamScopes].filter((s) => !token.scopes.has(s));
      if (missing.length) throw new InvalidScope(`refresh token missing requested scope(s): ${missing.join(' ')}`);
    }
    ctx.oidc.entity('RefreshToken', token);
    ctx.oidc.entity('Grant', grant);

    let account;
    try {
      account = await validateAccount(provider, ctx, token, 'refresh token');
    } catch {
      if (fromSnapshot) throw new LeaveToLookup();
      const events: AuditEvent[] = [
        {
          type: 'refresh_token.family_revoked',
          outcome: 'revoked',
          ...device(ctx),
          detail: { reason: 'account_unavailable' },
        },
      ];
      await families.revokeFamily(row.family.id, 'account_unavailable', events);
      throw new InvalidGrant('the account of this refresh token is disabled or deleted');
    }
    checkAccountMismatch(token, grant);
    ctx.oidc.entity('Account', account);
    return { token, grant, account };
  }

  /** ANOMALY_RESPONSE=revoke: the family is revoked; the client must sign the user in again (the challenge). */
  async function refuseForAnomaly(ctx: Ctx, row: TokenRow, anomaly: Assessment): Promise<never> {
    const at = device(ctx);
    await families.revokeFamily(row.family.id, 'anomaly', [
      {
        type: 'refresh_token.anomaly',
        outcome: 'revoked',
        ...at,
        detail: { ...anomaly.detail, generation: row.generation + 1 },
      },
      {
        type: 'refresh_token.family_revoked',
        outcome: 'revoked',
        ...at,
        detail: { reason: 'anomaly', signals: anomaly.signals },
      },
    ]);
    countSignals(anomaly);
    outcome(ctx, 'anomaly_revoked');
    throw new InvalidGrant(
      `this sign-in was revoked (${anomaly.signals.filter((s) => REVOCABLE.has(s)).join(', ')}); sign in again`,
    );
  }

  const countSignals = (anomaly: Assessment) => {
    for (const signal of anomaly.signals) metrics.refreshAnomaly(signal);
  };

  async function enforceVelocity(ctx: Ctx, row: TokenRow, counted: Promise<number | undefined>) {
    const retryAfter = await counted;
    if (retryAfter === undefined) return;
    await audit.record({
      type: 'refresh_token.velocity_exceeded',
      outcome: 'refused',
      ...device(ctx),
      accountId: row.family.accountId,
      clientId: row.family.clientId,
      familyId: row.family.id,
      detail: { limit: families.policy.velocityMax, window_seconds: families.policy.velocityWindowSeconds },
    });
    ctx.set('Retry-After', String(retryAfter));
    outcome(ctx, 'rate_limited');
    throw new TooManyRequests(`this session refreshes too often; retry in ${retryAfter} s`);
  }

  /**
   * The family's scope from now on: API scopes the client is no longer allowed (for any of the family's APIs) are
   * dropped for good, so that allowing them again later does not revive them in old families.
   */
  async function currentScope(token: RefreshTokenModel): Promise<string | undefined> {
    if (typeof token.scope !== 'string') return token.scope as undefined;
    const resources = [token.resource ?? []].flat().filter((r): r is string => typeof r === 'string');
    const allowed = new Set<string>();
    for (const resource of resources)
      for (const s of (await allowances.allowedScopes(token.clientId!, resource)) ?? []) allowed.add(s);
    return token.scope
      .split(' ')
      .filter((s) => BUILT_IN_SCOPE_SET.has(s) || allowed.has(s))
      .join(' ');
  }

  /**
   * Builds the rotation in memory: the successor refresh token, an access token, the response. Nothing is written:
   * `saveAccessToken` stores the access token, with the rotation's other writes.
   */
  async function buildRotation(
    ctx: Ctx,
    row: TokenRow,
    v: Awaited<ReturnType<typeof validate>>,
    dPoP: DPoP,
    check?: RotationCheck,
  ): Promise<{ rotation: Rotation; saveAccessToken(): Promise<void> }> {
    const { token, grant, account } = v;
    const usedAt = Date.now();
    const expiresAt = families.successorExpiry(row.family);
    const successor = new provider.RefreshToken({
      accountId: token.accountId,
      acr: token.acr,
      amr: token.amr,
      authTime: token.authTime,
      claims: token.claims,
      client: ctx.oidc.client,
      expiresWithSession: token.expiresWithSession,
      iiat: token.iiat,
      grantId: token.grantId,
      gty: String(token.gty ?? '').endsWith(grantType) ? token.gty : `${token.gty} ${grantType}`,
      nonce: token.nonce,
      resource: token.resource,
      rotations: (Number(token.rotations) || 0) + 1,
      scope: await currentScope(token),
      sessionUid: token.sessionUid,
      sid: token.sid,
      rar: token.rar,
      jkt: token.jkt,
    } as never) as RefreshTokenModel;
    successor.exp = Math.floor(expiresAt.getTime() / 1000);
    const { value: refreshToken, payload } = await tokenValueAndPayload(successor);
    ctx.oidc.entity('RotatedRefreshToken', token);
    ctx.oidc.entity('RefreshToken', successor);

    const at = createAccessToken(
      provider,
      ctx,
      {
        accountId: account.accountId,
        expiresWithSession: token.expiresWithSession,
        grantId: token.grantId,
        sessionUid: token.sessionUid,
        sid: token.sid,
      },
      String(successor.gty),
    );
    if (dPoP) at.setThumbprint('jkt', dPoP.thumbprint);
    const scope = ctx.oidc.params!.scope ? ctx.oidc.requestParamScopes : token.scopes;
    const {
      features: { userinfo, resourceIndicators },
    } = providerConfiguration(provider);
    const resource = await resolveResource(ctx, token, { userinfo, resourceIndicators }, scope);
    if (resource) {
      const info = validateResourceServer(
        await resourceIndicators.getResourceServerInfo(ctx, resource, ctx.oidc.client),
      );
      at.resourceServer = new provider.ResourceServer(resource, info as never);
      at.scope = grant.getResourceScopeFiltered(
        resource,
        [...scope].filter(Set.prototype.has.bind(at.resourceServer.scopes)),
      );
    } else {
      at.claims = token.claims as never;
      at.scope = grant.getOIDCScopeFiltered(scope);
    }
    await grantHelpers.applyAuthorizationDetails(provider, ctx, at, token);
    ctx.oidc.entity('AccessToken', at);
    const { value: accessToken, save: saveAccessToken } = await issueWithoutSaving(at);
    const idToken = await issueIdToken(provider, ctx, token, at, grant, scope);

    const response = grantHelpers.buildTokenResponse(provider, {
      accessToken,
      authorizationDetails: at.rar,
      expiresIn: at.expiration,
      idToken,
      refreshToken,
      scope: token.scope ? at.scope : at.scope || undefined,
      tokenType: at.tokenType,
    }) as TokenResponse;
    const rotation: Rotation = {
      response,
      successor: {
        hash: hash(refreshToken),
        payload: { ...payload, jti: undefined },
        expiresAt: expiresAt.getTime(),
        usedAt,
      },
      accessTokenKey: storeKeyFor(hash, 'AccessToken', String(at.jti)),
      ...(check && { check }),
    };
    return { rotation, saveAccessToken };
  }

  // The successor's snapshot goes with the access token: neither is of use to a rotation that did not commit.
  const discard = (rotation: Rotation) => store.delete(rotation.accessTokenKey, snapshots.key(rotation.successor.hash));

  /**
   * The rotation's short-lived writes, sent together (one pipelined round trip on Redis): the access token and
   * its indexes, then the grace claim, in that order, so that a response another request reads from the grace
   * cache names an access token that exists; with them, the successor's snapshot, and the presented token's
   * dropped (it is being consumed; should the commit fail, the next presentation only costs the lookup). The
   * snapshots are hints: their writes failing fails nothing. True when this request claimed the rotation.
   */
  async function storeRotation(
    ctx: Ctx,
    row: TokenRow,
    rotation: Rotation,
    saveAccessToken: () => Promise<void>,
    anomaly: Assessment,
  ): Promise<boolean> {
    const ttl = Number(rotation.response.expires_in) || 3600;
    const next = successorRow(row, rotation.successor, device(ctx), anomaly.rapidStreak);
    const [saved, tracked, claim] = await Promise.allSettled([
      saveAccessToken(),
      families.trackAccessToken(row.family.id, rotation.accessTokenKey, ttl),
      grace.enabled ? grace.claim(row.id, rotation) : Promise.resolve(true),
      snapshots.write(next),
      snapshots.delete(row.id),
    ]);
    const failed = [saved, tracked, claim].find((r) => r.status === 'rejected');
    if (failed) {
      const claimed = claim.status === 'fulfilled' && claim.value && grace.enabled;
      await Promise.allSettled([discard(rotation), claimed ? grace.release(row.id) : undefined]);
      throw failed.reason;
    }
    return (claim as PromiseFulfilledResult<boolean>).value;
  }

  /** A committed rotation: its outcome, signals and mirrored audit events, and the response. */
  function answerRotated(ctx: Ctx, row: TokenRow, rotation: Rotation, anomaly: Assessment): void {
    outcome(ctx, 'rotated');
    if (anomaly.signals.length) {
      countSignals(anomaly);
      audit.mirror({
        type: 'refresh_token.anomaly',
        outcome: 'success',
        ...device(ctx),
        accountId: row.family.accountId,
        clientId: row.family.clientId,
        familyId: row.family.id,
        detail: { ...anomaly.detail, generation: row.generation + 1 },
      });
    }
    audit.mirror({
      type: 'refresh_token.rotated',
      outcome: 'success',
      ...device(ctx),
      accountId: row.family.accountId,
      clientId: row.family.clientId,
      familyId: row.family.id,
      detail: { generation: row.generation + 1 },
    });
    ctx.body = rotation.response;
  }

  /** The rotation's one PostgreSQL round trip; a failure gives up what storeRotation wrote. */
  async function commit(ctx: Ctx, row: TokenRow, rotation: Rotation, anomaly: Assessment): Promise<boolean> {
    try {
      return await commitRotation(row, rotation, device(ctx), anomaly);
    } catch (err) {
      await Promise.allSettled([discard(rotation), grace.enabled ? grace.release(row.id) : undefined]);
      throw err;
    }
  }

  /**
   * The common path: the presented token's snapshot instead of the lookup, so that the rotating statement is the
   * request's only PostgreSQL round trip. True when it rotated and answered. Everything else (no snapshot, a
   * refusal, an anomaly to act on, the velocity limit, a lost claim, a statement that found the snapshot stale)
   * returns false having changed nothing the lookup path would not (`attempt` says what it already did): the lookup
   * path then answers, on fresh rows, exactly as it did before snapshots existed.
   */
  async function rotateFromSnapshot(ctx: Ctx, presented: string, dPoP: DPoP, attempt: Attempt): Promise<boolean> {
    const row = await snapshots.read(hash(presented));
    if (!row || row.consumedAt || row.family.revokedAt || row.family.clientId !== ctx.oidc.client!.clientId)
      return false;
    const check = rotationCheckOf(row);
    if (!check || row.family.expiresAt.getTime() <= Date.now()) return false;
    primeMemo(ctx, row);
    const counted = (attempt.counted = families.velocityExceeded(row.family.id));
    counted.catch(() => {}); // awaited below, or by the lookup path
    let built;
    try {
      const validated = await validate(ctx, row, presented, dPoP, attempt, true);
      const anomaly = await anomalies.assess(row.family, device(ctx));
      if (anomaly.refuse) return false;
      built = { anomaly, ...(await buildRotation(ctx, row, validated, dPoP, check)) };
    } catch (err) {
      if (isDependencyFailure(err)) throw err;
      return false; // refused on the snapshot's word: the lookup path decides, and answers as it always did
    }
    if ((await counted) !== undefined) return false; // the lookup path refuses, and audits it
    const { rotation, saveAccessToken, anomaly } = built;
    if (!(await storeRotation(ctx, row, rotation, saveAccessToken, anomaly))) {
      await discard(rotation);
      attempt.claimLost = true;
      return false;
    }
    if (!(await commit(ctx, row, rotation, anomaly))) {
      await Promise.allSettled([discard(rotation), grace.enabled ? grace.release(row.id) : undefined]);
      return false;
    }
    answerRotated(ctx, row, rotation, anomaly);
    return true;
  }

  const grant = async (ctx: Ctx): Promise<void> => {
    const presented = readPresentedToken(ctx);
    const dPoP = await grantHelpers.validateDpop(provider, ctx);
    const attempt: Attempt = { proofChecked: false };
    if (await rotateFromSnapshot(ctx, presented, dPoP, attempt)) return;
    ctx.state.refreshOutcome = undefined; // whatever the snapshot path named, the lookup path names it again

    const row = checkFamily(ctx, await families.findToken(presented));
    if (row.consumedAt) return replayOrReuse(ctx, row, dPoP, attempt.proofChecked);
    if (attempt.claimLost) return replayOrReuse(ctx, { ...row, consumedAt: new Date() }, dPoP, true);

    // The rotation is counted while the request is checked and its response built (signing, in memory): the
    // counter's round trip overlaps that work instead of adding a wait. Every presentation of a live token counts,
    // valid or not. Nothing is stored before the count is known, except a resource server's JWT access token's
    // record, made when it is signed: refused, that JWT is never handed out.
    const counted = attempt.counted ?? families.velocityExceeded(row.family.id);
    counted.catch(() => {}); // awaited below; if validation throws first, the count's outcome no longer matters
    const validated = await validate(ctx, row, presented, dPoP, attempt);
    const anomaly = await anomalies.assess(row.family, device(ctx));
    if (anomaly.refuse) await refuseForAnomaly(ctx, row, anomaly);
    const { rotation, saveAccessToken } = await buildRotation(ctx, row, validated, dPoP);
    await enforceVelocity(ctx, row, counted);

    if (!(await storeRotation(ctx, row, rotation, saveAccessToken, anomaly))) {
      await discard(rotation); // another request is rotating this token: answer as it does
      return replayOrReuse(ctx, { ...row, consumedAt: new Date() }, dPoP, true);
    }
    if (!(await commit(ctx, row, rotation, anomaly))) {
      await discard(rotation);
      return revokeForReuse(ctx, row, 'concurrent rotation lost');
    }
    answerRotated(ctx, row, rotation, anomaly);
  };

  return async function refreshTokenGrant(ctx: Ctx): Promise<void> {
    try {
      await grant(ctx);
    } catch (err) {
      // Refusals without a named outcome (unknown, revoked, foreign, malformed tokens; DPoP) are 'invalid';
      // failures of ours or of a dependency are 'error'.
      ctx.state.refreshOutcome ??=
        (err as { expose?: boolean }).expose && !isDependencyFailure(err) ? 'invalid' : 'error';
      throw err;
    } finally {
      metrics.refreshOutcome(ctx.state.refreshOutcome as RefreshOutcome);
    }
  };
}
