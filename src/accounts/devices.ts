// What the account page shows and changes: the user's devices (one per live refresh-token family) and the consents
// they gave to applications (oidc-provider grants). Withdrawing a consent deletes the grant, so that the application
// must ask again, and revokes every family started from it; access tokens of the grant die with it (introspection
// and userinfo look the grant up).
import type { Audit } from '../audit/audit.js';
import { insertAuditRows } from '../audit/records.js';
import { eventBy, type Actor } from '../audit/actor.js';
import { Prisma, type PrismaClient } from '../db/generated/client.js';
import { NotFound } from '../errors.js';
import type { Families } from '../families/families.js';
import { listLiveFamiliesByLastUse } from '../families/repository.js';
import { findClientNames } from '../clients/client-queries.js';
import { ACCOUNT_CLIENT_ID } from './account-sessions.js';
import { deviceName } from './device-name.js';

export interface DeviceView {
  id: string;
  application: string;
  device: string;
  ip: string | null;
  createdAt: Date;
  lastUsedAt: Date;
  current: boolean;
}

export interface ConsentView {
  /** The stored grant's key (the HMAC of its id): names it in a form without revealing the id. */
  id: string;
  clientId: string;
  application: string;
  scopes: string[];
  createdAt: Date;
}

async function applicationNames(
  prisma: PrismaClient,
  clientIds: string[],
  ownName: string,
): Promise<Map<string, string>> {
  const names = await findClientNames(prisma, clientIds);
  names.set(ACCOUNT_CLIENT_ID, ownName);
  return names;
}

export async function listDevices(
  prisma: PrismaClient,
  accountId: string,
  currentFamilyId: string | undefined,
  ownName: string,
): Promise<DeviceView[]> {
  const families = await listLiveFamiliesByLastUse(prisma, accountId, 200);
  const names = await applicationNames(
    prisma,
    families.map((f) => f.clientId),
    ownName,
  );
  return families.map((f) => ({
    id: f.id,
    application: names.get(f.clientId) ?? f.clientId,
    device: deviceName(f.userAgent),
    ip: f.ip,
    createdAt: f.createdAt,
    lastUsedAt: f.lastUsedAt,
    current: f.id === currentFamilyId,
  }));
}

interface GrantRow {
  id: string;
  payload: { clientId?: string; openid?: { scope?: string }; resources?: Record<string, string> };
  created_at: Date;
}

const grantsOf = (prisma: PrismaClient, accountId: string) => prisma.$queryRaw<GrantRow[]>`
  SELECT id, payload, created_at FROM oidc_payloads
   WHERE model = 'Grant' AND payload->>'accountId' = ${accountId} AND (expires_at IS NULL OR expires_at > now())
   ORDER BY created_at DESC LIMIT 200`;

export async function listConsents(prisma: PrismaClient, accountId: string): Promise<ConsentView[]> {
  const grants = await grantsOf(prisma, accountId);
  const names = await applicationNames(
    prisma,
    grants.map((g) => String(g.payload.clientId)),
    '',
  );
  return grants.map((g) => {
    const scopes = (g.payload.openid?.scope ?? '')
      .split(' ')
      .concat(...Object.values(g.payload.resources ?? {}).map((s) => s.split(' ')));
    const clientId = String(g.payload.clientId);
    return {
      id: g.id,
      clientId,
      application: names.get(clientId) || clientId,
      scopes: [...new Set(scopes.filter(Boolean))],
      createdAt: new Date(g.created_at),
    };
  });
}

/** Withdraws one consent of this account: the grant is deleted, its families revoked, consent.withdrawn audited. */
export async function withdrawConsent(
  deps: { prisma: PrismaClient; families: Families; audit: Audit },
  accountId: string,
  consentId: string,
  actor: Actor,
): Promise<void> {
  const event = { ...eventBy(actor, 'consent.withdrawn', 'success'), accountId };
  const rows = await deps.prisma.$queryRaw<{ client_id: string }[]>`
    WITH gone AS (
      DELETE FROM oidc_payloads WHERE model = 'Grant' AND id = ${consentId} AND payload->>'accountId' = ${accountId} RETURNING payload->>'clientId' AS client_id
    ), audited AS (
      ${insertAuditRows('gone', { accountId: Prisma.sql`${accountId}::uuid`, clientId: Prisma.sql`gone.client_id` }, [event])}
    )
    SELECT client_id FROM gone`;
  if (!rows[0]) throw new NotFound('no such consent');
  await deps.families.mirror.forgetGrants([consentId]); // after the commit (src/store/mirror.ts)
  deps.audit.mirror({ ...event, clientId: rows[0].client_id });
  await deps.families.revokeWhere({ grantIdHash: consentId }, 'consent_withdrawn', [
    eventBy(actor, 'session.revoked', 'revoked', { reason: 'consent_withdrawn' }),
  ]);
}
