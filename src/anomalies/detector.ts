// Refresh anomaly signals, computed on every rotation from what the family row already holds (its last address,
// user agent and rotation time, its rapid-rotation streak), so that noticing costs no extra round trip: the
// result is written by the rotation's own statement (src/families/repository.ts). Only a change of network
// consults the geolocation database, in memory.
import type { Device } from '../request/device.js';
import { distanceKm, type Geolocator, type Location } from './geolocation.js';
import { isOtherNetwork, normaliseAddress } from './network.js';
import { memoizedUserAgentFamily } from './user-agent.js';

export type Signal = 'user_agent_changed' | 'address_changed' | 'impossible_travel' | 'rapid_refresh';
export const SIGNALS: readonly Signal[] = [
  'user_agent_changed',
  'address_changed',
  'impossible_travel',
  'rapid_refresh',
];
/** The signals ANOMALY_RESPONSE=revoke answers: another device, or the same token in two places at once. */
export const REVOCABLE: ReadonlySet<Signal> = new Set<Signal>(['impossible_travel', 'user_agent_changed']);

/** Rotations in a row closer than the minimum interval before rapid_refresh is raised ("several times"). */
export const RAPID_STREAK = 3;

export interface AnomalyPolicy {
  response: 'record' | 'revoke';
  maxSpeedKmh: number;
  minIntervalSeconds: number;
}

/** What the family remembers of its previous use. */
export interface FamilyHistory {
  lastIp: string | null;
  lastUserAgent: string | null;
  lastUsedAt: Date;
  rapidStreak: number;
}

export interface Assessment {
  signals: Signal[];
  /** The streak to store with this rotation. */
  rapidStreak: number;
  /** `detail` of the refresh_token.anomaly event: the signals and what they were measured from. */
  detail: Record<string, unknown>;
  /** True when the policy answers these signals by revoking the family. */
  refuse: boolean;
}

export interface AnomalyDetector {
  readonly policy: AnomalyPolicy;
  assess(history: FamilyHistory, device: Device, now?: number): Promise<Assessment>;
}

export function createAnomalyDetector(policy: AnomalyPolicy, geolocator: Geolocator): AnomalyDetector {
  const userAgentFamily = memoizedUserAgentFamily();
  async function travel(previousIp: string | null, currentIp: string | null, elapsedMs: number) {
    const [from, to] = await Promise.all([geolocator.locate(previousIp), geolocator.locate(currentIp)]);
    if (!from || !to) return undefined;
    return measureTravel(from, to, elapsedMs, policy.maxSpeedKmh);
  }

  return {
    policy,
    async assess(history, device, now = Date.now()) {
      const signals: Signal[] = [];
      const detail: Record<string, unknown> = {};
      const elapsedMs = Math.max(0, now - history.lastUsedAt.getTime());

      const previousFamily = userAgentFamily(history.lastUserAgent);
      const currentFamily = userAgentFamily(device.userAgent);
      if (previousFamily !== currentFamily) {
        signals.push('user_agent_changed');
        Object.assign(detail, {
          previous_user_agent: history.lastUserAgent,
          user_agent_family: currentFamily,
          previous_user_agent_family: previousFamily,
        });
      }

      if (isOtherNetwork(history.lastIp, device.ip)) {
        signals.push('address_changed');
        detail.previous_ip = normaliseAddress(history.lastIp);
        const trip = await travel(history.lastIp, device.ip, elapsedMs);
        if (trip?.impossible) signals.push('impossible_travel');
        if (trip) Object.assign(detail, trip.detail);
      }

      const rapidStreak = elapsedMs < policy.minIntervalSeconds * 1000 ? history.rapidStreak + 1 : 0;
      if (rapidStreak >= RAPID_STREAK) {
        signals.push('rapid_refresh');
        Object.assign(detail, { rapid_streak: rapidStreak, interval_seconds: Math.round(elapsedMs) / 1000 });
      }

      const refuse = policy.response === 'revoke' && signals.some((s) => REVOCABLE.has(s));
      return { signals, rapidStreak, detail: signals.length ? { signals, ...detail } : {}, refuse };
    },
  };
}

/**
 * Speed between two located addresses. The distance compared is the great-circle distance less both accuracy
 * radii (the least the device can have moved), over at least one second: two guesses of the same city never
 * travel, and a clock difference of milliseconds does not make any trip impossible by itself.
 */
export function measureTravel(from: Location, to: Location, elapsedMs: number, maxSpeedKmh: number) {
  const distance = distanceKm(from, to);
  const leastDistance = Math.max(0, distance - from.radiusKm - to.radiusKm);
  const hours = Math.max(elapsedMs, 1000) / 3_600_000;
  const speed = leastDistance / hours;
  return {
    impossible: speed > maxSpeedKmh,
    detail: {
      distance_km: Math.round(distance),
      least_distance_km: Math.round(leastDistance),
      elapsed_seconds: Math.round(elapsedMs / 100) / 10,
      speed_kmh: Math.round(speed),
      from_country: from.country || null,
      to_country: to.country || null,
    },
  };
}
