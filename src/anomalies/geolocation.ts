// Where an address is, from the GeoLite2-based database that ships inside the geoip-lite package: no network
// lookups. Accuracy: country-level is good; coordinates are a city or a country's centroid, with an accuracy radius
// (`radiusKm`, MaxMind's "area") from a few km to 1000 km; addresses of VPNs, carriers and clouds are located where
// their operator registered them. Loading reads ~110 MB of tables into memory (outside the JS heap), synchronously,
// once: so it happens on the first lookup, which only a rotation from another network makes.
import { normaliseAddress } from './network.js';

export interface Location {
  lat: number;
  lon: number;
  radiusKm: number;
  country: string;
  city: string;
}

interface GeoipLite {
  lookup(ip: string): { ll: [number, number]; area: number; country: string; city: string } | null;
}

export interface Geolocator {
  locate(ip: string | null | undefined): Promise<Location | undefined>;
}

/**
 * `onLoadError`: a database that cannot be loaded (a pruned install) must not fail refreshes: it is reported once,
 * and from then on no address has a location (so no impossible_travel).
 */
export function createGeolocator({
  load = loadGeoipLite,
  onLoadError,
}: { load?: () => Promise<GeoipLite>; onLoadError?: (err: unknown) => void } = {}): Geolocator {
  let database: Promise<GeoipLite | undefined> | undefined;
  return {
    async locate(ip) {
      const address = normaliseAddress(ip);
      if (!address) return undefined;
      database ??= load().catch((err: unknown) => {
        onLoadError?.(err);
        return undefined;
      });
      const found = (await database)?.lookup(address);
      if (!found?.ll || (found.ll[0] === 0 && found.ll[1] === 0)) return undefined;
      return {
        lat: found.ll[0],
        lon: found.ll[1],
        radiusKm: Number(found.area) || 0,
        country: found.country,
        city: found.city,
      };
    },
  };
}

async function loadGeoipLite(): Promise<GeoipLite> {
  const module = (await import('geoip-lite')) as unknown as { default: GeoipLite };
  return module.default;
}

const EARTH_RADIUS_KM = 6371.0088;
const rad = (deg: number) => (deg * Math.PI) / 180;

/** Great-circle distance (haversine) in km. */
export function distanceKm(a: Pick<Location, 'lat' | 'lon'>, b: Pick<Location, 'lat' | 'lon'>): number {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
