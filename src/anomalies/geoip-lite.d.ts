// geoip-lite ships no types; src/anomalies/geolocation.ts states the part it uses.
declare module 'geoip-lite' {
  const geoip: unknown;
  export default geoip;
}
