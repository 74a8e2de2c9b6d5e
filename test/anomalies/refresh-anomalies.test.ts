// Refresh anomaly signals over HTTP: each rotation is compared with the family's previous use (browser and OS
// family, network, place and time, rhythm); signals are audited as refresh_token.anomaly, counted in /metrics,
// shown on the admin sessions list, and (ANOMALY_RESPONSE=revoke) answered by revoking the family. Behind
// TRUST_PROXY=true the address is the X-Forwarded-For one, so real public addresses of different continents can be
// presented. REUSE_RESPONSE=account makes a reused refresh token log the whole account out.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import type { ClientView } from '../../src/clients/clients.js';
import { adminCall, adminToken } from '../admin/helpers.js';
import { familyOf } from '../support/families.js';
import {
  authorize,
  createTestClient,
  createUser,
  introspect,
  refresh,
  tokenRequest,
  type Tokens,
  type User,
} from '../support/oauth.js';
import { MODES, startServer, type TestServer } from '../support/server.js';

const CHROME_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const CHROME_WINDOWS_NEWER =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.6167.85 Safari/537.36';
const SAFARI_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';
// Public addresses geoip-lite's database places precisely (accuracy radius 5 km).
const AMSTERDAM = '193.0.14.129';
const AMSTERDAM_NEIGHBOUR = '193.0.14.200'; // same /24
const AMSTERDAM_OTHER_NETWORK = '193.0.10.1'; // another /24, same city
const SYDNEY = '13.54.0.1';
const METRICS_TOKEN = 'anomaly-metrics-token-0123456789';

const INVALID_ANOMALY = (signals: string) => ({
  error: 'invalid_grant',
  error_description: `this sign-in was revoked (${signals}); sign in again`,
});

interface Device {
  ip: string;
  ua: string;
}

async function signIn(server: TestServer, client: ClientView, user: User, at: Device): Promise<Tokens> {
  const { code, verifier } = await authorize(server, client, user);
  const res = await tokenRequest(
    server,
    client,
    { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: client.redirect_uris[0]! },
    { 'user-agent': at.ua, 'x-forwarded-for': at.ip },
  );
  if (res.status !== 200) throw new Error(`code exchange failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as unknown as Tokens;
}

/** Moves the family's last use a minute back, as if the next rotation came a minute after it. */
async function aMinuteLater(server: TestServer, refreshToken: string) {
  const family = await familyOf(server, refreshToken);
  await server.db.sql.query(
    "UPDATE refresh_token_families SET last_used_at = last_used_at - interval '60 seconds' WHERE id = $1",
    [family.id],
  );
}

const rotateFrom = (server: TestServer, client: ClientView, token: string, at: Device) =>
  refresh(server, client, token, { 'user-agent': at.ua, 'x-forwarded-for': at.ip });

describe.each(MODES)('refresh anomaly signals (%s storage)', (mode) => {
  let server: TestServer;
  let client: ClientView;
  let adminBearer: string;

  beforeAll(async () => {
    server = await startServer(mode, { TRUST_PROXY: 'true', METRICS_TOKEN });
    client = await createTestClient(server);
    ({ token: adminBearer } = await adminToken(server));
  }); // a server boot, slower when the machine is loaded
  afterAll(() => server?.stop());

  const anomaliesOf = async (userId: string) =>
    (
      await adminCall(server, 'GET', `/admin/audit?user_id=${userId}&type=refresh_token.anomaly&limit=100`, {
        token: adminBearer,
      })
    ).body.items as {
      type: string;
      user_id: string;
      client_id: string;
      family_id: string;
      ip: string;
      user_agent: string;
      outcome: string;
      detail: Record<string, unknown>;
    }[];

  async function rotateChecked(token: string, at: Device): Promise<Tokens> {
    const res = await rotateFrom(server, client, token, at);
    expect(res.status).toBe(200);
    return res.body as unknown as Tokens;
  }

  it('records user_agent_changed for another browser, not for a version bump', async () => {
    const user = await createUser(server);
    const first = await signIn(server, client, user, { ip: AMSTERDAM, ua: CHROME_WINDOWS });
    const second = await rotateChecked(first.refresh_token, { ip: AMSTERDAM, ua: CHROME_WINDOWS_NEWER });
    expect(await anomaliesOf(user.id)).toEqual([]);

    await rotateChecked(second.refresh_token, { ip: AMSTERDAM, ua: SAFARI_MAC });
    const family = await familyOf(server, first.refresh_token);
    expect(await anomaliesOf(user.id)).toEqual([
      expect.objectContaining({
        type: 'refresh_token.anomaly',
        user_id: user.id,
        client_id: client.client_id,
        family_id: family.id,
        ip: AMSTERDAM,
        user_agent: SAFARI_MAC,
        outcome: 'success',
        detail: expect.objectContaining({
          signals: ['user_agent_changed'],
          user_agent_family: 'Safari on macOS',
          previous_user_agent_family: 'Chrome on Windows',
          generation: 2,
        }),
      }),
    ]);
  });

  it('records address_changed for another /24, not for a neighbour in the same one', async () => {
    const user = await createUser(server);
    const first = await signIn(server, client, user, { ip: AMSTERDAM, ua: CHROME_WINDOWS });
    const second = await rotateChecked(first.refresh_token, { ip: AMSTERDAM_NEIGHBOUR, ua: CHROME_WINDOWS });
    expect(await anomaliesOf(user.id)).toEqual([]);

    await rotateChecked(second.refresh_token, { ip: AMSTERDAM_OTHER_NETWORK, ua: CHROME_WINDOWS });
    const [event] = await anomaliesOf(user.id);
    // Same city: a change of network, not a journey.
    expect(event).toMatchObject({
      ip: AMSTERDAM_OTHER_NETWORK,
      detail: { signals: ['address_changed'], previous_ip: AMSTERDAM_NEIGHBOUR, distance_km: 0 },
    });
  });

  it('records impossible_travel, with the distance and speed, for two rotations a minute apart on two continents', async () => {
    const user = await createUser(server);
    const first = await signIn(server, client, user, { ip: AMSTERDAM, ua: CHROME_WINDOWS });
    const second = await rotateChecked(first.refresh_token, { ip: AMSTERDAM, ua: CHROME_WINDOWS });
    await aMinuteLater(server, second.refresh_token);
    await rotateChecked(second.refresh_token, { ip: SYDNEY, ua: CHROME_WINDOWS });
    const [event] = await anomaliesOf(user.id);
    expect(event!.detail).toMatchObject({
      signals: ['address_changed', 'impossible_travel'],
      previous_ip: AMSTERDAM,
      from_country: 'NL',
      to_country: 'AU',
    });
    // Amsterdam to Sydney is about 16,600 km: in a minute, about a million km/h.
    expect(event!.detail.distance_km).toBeGreaterThan(16_000);
    expect(event!.detail.distance_km).toBeLessThan(17_000);
    expect(event!.detail.elapsed_seconds).toBeGreaterThanOrEqual(60);
    expect(event!.detail.elapsed_seconds).toBeLessThan(90);
    expect(event!.detail.speed_kmh).toBeGreaterThan(600_000);

    // The admin sessions list shows the family's latest signals.
    const sessions = await adminCall(server, 'GET', `/admin/users/${user.id}/sessions`, { token: adminBearer });
    expect(sessions.body.items).toEqual([
      expect.objectContaining({
        id: event!.family_id,
        ip: AMSTERDAM,
        latest_signals: ['address_changed', 'impossible_travel'],
        latest_signals_at: expect.any(String),
      }),
    ]);
  });

  it('records rapid_refresh once rotations come closer than the minimum interval three times in a row', async () => {
    const user = await createUser(server);
    const at = { ip: AMSTERDAM, ua: CHROME_WINDOWS };
    let tokens = await signIn(server, client, user, at);
    for (let i = 0; i < 2; i++) tokens = await rotateChecked(tokens.refresh_token, at);
    expect(await anomaliesOf(user.id)).toEqual([]);
    await rotateChecked(tokens.refresh_token, at);
    const events = await anomaliesOf(user.id);
    expect(events).toHaveLength(1);
    expect(events[0]!.detail).toMatchObject({ signals: ['rapid_refresh'], rapid_streak: 3 });
    expect(events[0]!.detail.interval_seconds).toBeLessThan(5);
  });

  it('counts each signal in /metrics', async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const text = await res.text();
    const count = (signal: string) =>
      Number(new RegExp(`^tollgate_refresh_anomalies_total\\{signal="${signal}"\\} (\\d+)`, 'm').exec(text)?.[1]);
    // One of each per test above (address_changed twice: the journey changes networks too).
    expect({
      ua: count('user_agent_changed'),
      address: count('address_changed'),
      travel: count('impossible_travel'),
      rapid: count('rapid_refresh'),
    }).toEqual({ ua: 1, address: 2, travel: 1, rapid: 1 });
  });
});

describe.each(MODES)('anomaly and reuse responses (%s storage)', (mode) => {
  let server: TestServer;
  let client: ClientView;
  let otherClient: ClientView;

  beforeAll(async () => {
    server = await startServer(mode, { TRUST_PROXY: 'true', ANOMALY_RESPONSE: 'revoke', REUSE_RESPONSE: 'account' });
    client = await createTestClient(server);
    otherClient = await createTestClient(server);
  });
  afterAll(() => server?.stop());

  const auditTypes = async (familyId: string) =>
    await server.db.sql.query<{ type: string; outcome: string; detail: Record<string, unknown> }>(
      'SELECT type, outcome, detail FROM audit_events WHERE family_id = $1 ORDER BY id',
      [familyId],
    );

  it('ANOMALY_RESPONSE=revoke refuses the impossible-travel rotation with invalid_grant and revokes the family', async () => {
    const user = await createUser(server);
    const first = await signIn(server, client, user, { ip: AMSTERDAM, ua: CHROME_WINDOWS });
    await aMinuteLater(server, first.refresh_token);
    const res = await rotateFrom(server, client, first.refresh_token, { ip: SYDNEY, ua: CHROME_WINDOWS });
    expect(res.status).toBe(400);
    expect(res.body).toEqual(INVALID_ANOMALY('impossible_travel'));
    const family = await familyOf(server, first.refresh_token);
    expect(family).toMatchObject({ revoked_at: expect.any(Date), revoked_reason: 'anomaly' });
    expect((await introspect(server, client, first.access_token)).body).toEqual({ active: false });
    // The legitimate device, back home, must sign in again too.
    expect((await rotateFrom(server, client, first.refresh_token, { ip: AMSTERDAM, ua: CHROME_WINDOWS })).body).toEqual(
      { error: 'invalid_grant', error_description: 'refresh token has been revoked' },
    );
    const events = await auditTypes(family.id);
    expect(events.map((e) => [e.type, e.outcome])).toEqual([
      ['refresh_token.anomaly', 'revoked'],
      ['refresh_token.family_revoked', 'revoked'],
    ]);
    expect(events[0]!.detail).toMatchObject({
      signals: ['address_changed', 'impossible_travel'],
      from_country: 'NL',
      to_country: 'AU',
    });
  });

  it('ANOMALY_RESPONSE=revoke refuses another browser too, but only records a change of network or rapid rotations', async () => {
    const user = await createUser(server);
    const first = await signIn(server, client, user, { ip: AMSTERDAM, ua: CHROME_WINDOWS });
    let tokens = first;
    for (const ip of [AMSTERDAM_OTHER_NETWORK, AMSTERDAM, AMSTERDAM_OTHER_NETWORK]) {
      const res = await rotateFrom(server, client, tokens.refresh_token, { ip, ua: CHROME_WINDOWS });
      expect(res.status).toBe(200);
      tokens = res.body as unknown as Tokens;
    }
    const family = await familyOf(server, first.refresh_token);
    expect(
      (await auditTypes(family.id)).filter((e) => e.type === 'refresh_token.anomaly').map((e) => e.detail.signals),
    ).toEqual([['address_changed'], ['address_changed'], ['address_changed', 'rapid_refresh']]);

    const res = await rotateFrom(server, client, tokens.refresh_token, { ip: AMSTERDAM_OTHER_NETWORK, ua: SAFARI_MAC });
    expect(res.body).toEqual(INVALID_ANOMALY('user_agent_changed'));
    expect(await familyOf(server, first.refresh_token)).toMatchObject({ revoked_reason: 'anomaly' });
  });

  it('REUSE_RESPONSE=account: a reuse revokes every family of the account and its access tokens', async () => {
    const user = await createUser(server);
    const bystander = await createUser(server);
    const laptop = await signIn(server, client, user, { ip: AMSTERDAM, ua: CHROME_WINDOWS });
    const phone = await signIn(server, otherClient, user, { ip: AMSTERDAM, ua: SAFARI_MAC });
    const other = await signIn(server, client, bystander, { ip: AMSTERDAM, ua: CHROME_WINDOWS });
    const at = { ip: AMSTERDAM, ua: CHROME_WINDOWS };
    const rotated = await rotateFrom(server, client, laptop.refresh_token, at);
    expect(rotated.status).toBe(200);
    await rotateFrom(server, client, rotated.body.refresh_token as string, at); // the successor is used: the old token is now reuse

    const reuse = await rotateFrom(server, client, laptop.refresh_token, at);
    expect(reuse.body).toEqual({
      error: 'invalid_grant',
      error_description: 'refresh token was already used; this sign-in has been revoked, sign in again',
    });
    expect(await familyOf(server, phone.refresh_token)).toMatchObject({
      revoked_at: expect.any(Date),
      revoked_reason: 'reuse_detected',
    });
    expect(
      (await rotateFrom(server, otherClient, phone.refresh_token, { ip: AMSTERDAM, ua: SAFARI_MAC })).body,
    ).toEqual({ error: 'invalid_grant', error_description: 'refresh token has been revoked' });
    expect((await introspect(server, otherClient, phone.access_token)).body).toEqual({ active: false });
    // Another account is untouched.
    expect((await rotateFrom(server, client, other.refresh_token, at)).status).toBe(200);

    const [lockdown] = await server.db.sql.query<{ type: string; detail: Record<string, unknown> }>(
      "SELECT type, detail FROM audit_events WHERE account_id = $1 AND type = 'user.logged_out_everywhere'",
      [user.id],
    );
    const laptopFamily = await familyOf(server, laptop.refresh_token);
    expect(lockdown).toEqual({
      type: 'user.logged_out_everywhere',
      detail: { reason: 'reuse_detected', family_id: laptopFamily.id, client_id: client.client_id },
    });
    expect(
      (await auditTypes((await familyOf(server, phone.refresh_token)).id)).map((e) => [e.type, e.detail.reason]),
    ).toEqual([['refresh_token.family_revoked', 'reuse_detected']]);
  });
});
