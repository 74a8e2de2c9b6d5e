// A readable name for a device from its user agent ("Firefox on Linux", "Safari on iPhone"), for the account page.
// Deliberately small: the common browsers and systems, in the order their tokens must be tested (Edge and Opera
// also say "Chrome", Chrome also says "Safari", Android also says "Linux"). Anything else keeps a short, bounded
// form of what the client sent.
const BROWSERS: [RegExp, string][] = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\b(OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\b(Firefox|FxiOS)\//, 'Firefox'],
  [/\b(Chrome|CriOS|Chromium)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*Safari\//, 'Safari'],
  [/^curl\//, 'curl'],
  [/^okhttp\//, 'an Android app'],
  [/\bCFNetwork\//, 'an Apple app'],
];

const SYSTEMS: [RegExp, string][] = [
  [/\biPhone\b/, 'iPhone'],
  [/\biPad\b/, 'iPad'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

const first = (table: [RegExp, string][], ua: string) => table.find(([re]) => re.test(ua))?.[1];

export function deviceName(userAgent: string | null | undefined): string {
  const ua = (userAgent ?? '').trim();
  if (!ua) return 'Unknown device';
  const headless = /HeadlessChrome\//.test(ua);
  const browser = headless ? 'Headless Chrome' : first(BROWSERS, ua);
  const system = first(SYSTEMS, ua);
  if (browser && system) return `${browser} on ${system}`;
  if (browser) return browser;
  if (system) return `A browser on ${system}`;
  const product = /^[\w.-]{1,40}(\/[\w.-]{1,20})?/.exec(ua)?.[0];
  return product ?? `${ua.slice(0, 40)}…`;
}
