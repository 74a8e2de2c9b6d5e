// The anomaly signals as functions: networks by /24 and /48, browser families without versions, great-circle
// travel against the speed limit (with the real geoip-lite database), and the rapid-rotation streak.
import { describe, expect, it } from '@jest/globals';

import { createAnomalyDetector, measureTravel, type FamilyHistory } from '../../src/anomalies/detector.js';
import { createGeolocator, distanceKm } from '../../src/anomalies/geolocation.js';
import { isOtherNetwork } from '../../src/anomalies/network.js';
import { memoizedUserAgentFamily, userAgentFamily } from '../../src/anomalies/user-agent.js';

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
const CHROME_ANDROID =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 Mobile Safari/537.36';

describe('networks', () => {
  it('compares IPv4 by /24 and IPv6 by /48, IPv4-mapped as IPv4', () => {
    expect(isOtherNetwork('203.0.113.7', '203.0.113.250')).toBe(false);
    expect(isOtherNetwork('203.0.113.7', '203.0.114.7')).toBe(true);
    expect(isOtherNetwork('::ffff:203.0.113.7', '203.0.113.9')).toBe(false);
    expect(isOtherNetwork('2001:db8:abcd:1::1', '2001:db8:abcd:ffff::2')).toBe(false);
    expect(isOtherNetwork('2001:db8:abcd::1', '2001:db8:abce::1')).toBe(true);
    expect(isOtherNetwork('203.0.113.7', '2001:db8::1')).toBe(true);
  });

  it('changes nothing when an address is unknown or not an address', () => {
    expect(isOtherNetwork(null, '203.0.113.7')).toBe(false);
    expect(isOtherNetwork('203.0.113.7', 'not-an-address')).toBe(false);
  });
});

describe('user agent families', () => {
  it('name browser and OS without versions; unknown agents by their product token', () => {
    expect(userAgentFamily(CHROME)).toBe('Chrome on Windows');
    expect(userAgentFamily(CHROME.replace('120.0.0.0', '121.0.6167.85'))).toBe('Chrome on Windows');
    expect(userAgentFamily(FIREFOX_LINUX)).toBe('Firefox on Linux');
    expect(userAgentFamily(CHROME_ANDROID)).toBe('Chrome on Android');
    expect(userAgentFamily('okhttp/4.9.0')).toBe(userAgentFamily('okhttp/4.12.0'));
    expect(userAgentFamily('curl/8.4.0')).not.toBe(userAgentFamily('python-requests/2.31'));
    expect(userAgentFamily(null)).toBeNull();
  });

  it('are memoised within a bound, with the same answers', () => {
    const family = memoizedUserAgentFamily(2);
    for (const ua of [CHROME, FIREFOX_LINUX, CHROME_ANDROID, CHROME, 'okhttp/4.9.0'])
      expect(family(ua)).toBe(userAgentFamily(ua));
    expect(family(undefined)).toBeNull();
  });
});

describe('travel', () => {
  const paris = { lat: 48.8566, lon: 2.3522, radiusKm: 5, country: 'FR', city: 'Paris' };
  const newYork = { lat: 40.7128, lon: -74.006, radiusKm: 5, country: 'US', city: 'New York' };
  const lyon = { lat: 45.764, lon: 4.8357, radiusKm: 5, country: 'FR', city: 'Lyon' };

  it('measures great-circle distances', () => {
    expect(distanceKm(paris, newYork)).toBeGreaterThan(5820);
    expect(distanceKm(paris, newYork)).toBeLessThan(5850);
    expect(distanceKm(paris, paris)).toBe(0);
  });

  it('is impossible above the speed limit: Paris to New York a minute apart, not Paris to Lyon in three hours', () => {
    const jump = measureTravel(paris, newYork, 60_000, 1000);
    expect(jump.impossible).toBe(true);
    expect(jump.detail).toMatchObject({ distance_km: 5837, elapsed_seconds: 60, from_country: 'FR', to_country: 'US' });
    expect(jump.detail.speed_kmh).toBeGreaterThan(340_000);
    expect(measureTravel(paris, lyon, 3 * 3_600_000, 1000).impossible).toBe(false);
    expect(measureTravel(paris, newYork, 8 * 3_600_000, 1000).impossible).toBe(false); // a flight
  });

  it('subtracts the accuracy radii: two coarse guesses of one region never travel', () => {
    const coarse = { ...paris, radiusKm: 500 };
    expect(measureTravel(coarse, { ...lyon, radiusKm: 500 }, 1000, 1000)).toMatchObject({
      impossible: false,
      detail: { least_distance_km: 0 },
    });
  });

  it('locates real addresses from the database shipped in geoip-lite, without the network', async () => {
    const geo = createGeolocator();
    expect(await geo.locate('193.0.14.129')).toMatchObject({ country: 'NL', city: 'Amsterdam' });
    expect(await geo.locate('13.54.0.1')).toMatchObject({ country: 'AU' });
    expect(await geo.locate('10.0.0.1')).toBeUndefined();
    expect(await geo.locate('garbage')).toBeUndefined();
  });

  it('survives a database that cannot be loaded: reported once, no locations', async () => {
    const errors: unknown[] = [];
    const geo = createGeolocator({
      load: () => Promise.reject(new Error('ENOENT geoip-city.dat')),
      onLoadError: (err) => errors.push(err),
    });
    expect(await geo.locate('193.0.14.129')).toBeUndefined();
    expect(await geo.locate('13.54.0.1')).toBeUndefined();
    expect(errors).toHaveLength(1);
  });
});

describe('detector', () => {
  const located = {
    locate: async (ip: string | null | undefined) =>
      ip?.startsWith('198.51.100.')
        ? { lat: 48.8566, lon: 2.3522, radiusKm: 5, country: 'FR', city: 'Paris' }
        : ip
          ? { lat: 40.7128, lon: -74.006, radiusKm: 5, country: 'US', city: 'New York' }
          : undefined,
  };
  const detector = createAnomalyDetector({ response: 'record', maxSpeedKmh: 1000, minIntervalSeconds: 5 }, located);
  const now = Date.parse('2026-11-29T12:00:00Z');
  const history = (over: Partial<FamilyHistory> = {}): FamilyHistory => ({
    lastIp: '198.51.100.7',
    lastUserAgent: CHROME,
    lastUsedAt: new Date(now - 60_000),
    rapidStreak: 0,
    ...over,
  });

  it('raises nothing for the same device a minute later', async () => {
    expect(await detector.assess(history(), { ip: '198.51.100.9', userAgent: CHROME }, now)).toEqual({
      signals: [],
      rapidStreak: 0,
      detail: {},
      refuse: false,
    });
  });

  it('raises address_changed and impossible_travel a minute apart across the Atlantic; record does not refuse', async () => {
    const result = await detector.assess(history(), { ip: '203.0.113.5', userAgent: CHROME }, now);
    expect(result.signals).toEqual(['address_changed', 'impossible_travel']);
    expect(result.refuse).toBe(false);
    const revoking = createAnomalyDetector({ response: 'revoke', maxSpeedKmh: 1000, minIntervalSeconds: 5 }, located);
    expect((await revoking.assess(history(), { ip: '203.0.113.5', userAgent: CHROME }, now)).refuse).toBe(true);
    expect((await revoking.assess(history(), { ip: '198.51.100.9', userAgent: FIREFOX_LINUX }, now)).refuse).toBe(true);
    expect(
      await revoking.assess(
        history({ lastUsedAt: new Date(now - 1000), rapidStreak: 5 }),
        { ip: '198.51.100.9', userAgent: CHROME },
        now,
      ),
    ).toMatchObject({ signals: ['rapid_refresh'], refuse: false });
  });

  it('counts a streak of rapid rotations and resets it after a calm one', async () => {
    const rapid = await detector.assess(
      history({ lastUsedAt: new Date(now - 1000), rapidStreak: 1 }),
      { ip: '198.51.100.7', userAgent: CHROME },
      now,
    );
    expect(rapid).toMatchObject({ signals: [], rapidStreak: 2 });
    const third = await detector.assess(
      history({ lastUsedAt: new Date(now - 1000), rapidStreak: 2 }),
      { ip: '198.51.100.7', userAgent: CHROME },
      now,
    );
    expect(third).toMatchObject({
      signals: ['rapid_refresh'],
      rapidStreak: 3,
      detail: { rapid_streak: 3, interval_seconds: 1 },
    });
    expect(
      (await detector.assess(history({ rapidStreak: 7 }), { ip: '198.51.100.7', userAgent: CHROME }, now)).rapidStreak,
    ).toBe(0);
  });
});
