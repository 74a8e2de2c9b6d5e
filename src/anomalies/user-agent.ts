// "Another browser" for user_agent_changed: the browser and operating system a user agent names, without versions,
// so that an update (Chrome 120 → 121, iOS 17.1 → 17.2) is not a change. Parsed with bowser (MIT; ua-parser-js 2 is
// AGPL). A user agent bowser does not know (curl, okhttp, an app's own) is named by its first product token.
import Bowser from 'bowser';

const PRODUCT = /^[^\s/;()]+/;

/** "Chrome on Windows", "okhttp", or null without a user agent. */
export function userAgentFamily(userAgent: string | null | undefined): string | null {
  if (!userAgent) return null;
  const { browser, os } = Bowser.parse(userAgent);
  const name = browser.name || PRODUCT.exec(userAgent.trim())?.[0] || 'unknown';
  return os.name ? `${name} on ${os.name}` : name;
}

/**
 * userAgentFamily with a bounded memo: parsing costs ~35 µs, and a refresh parses the family's last user agent and
 * the current one, which are almost always the same few strings. Client-chosen keys, so the memo is capped (and
 * simply emptied when full).
 */
export function memoizedUserAgentFamily(max = 1000): (userAgent: string | null | undefined) => string | null {
  const known = new Map<string, string | null>();
  return (userAgent) => {
    if (!userAgent) return null;
    let family = known.get(userAgent);
    if (family === undefined) {
      if (known.size >= max) known.clear();
      known.set(userAgent, (family = userAgentFamily(userAgent)));
    }
    return family;
  };
}
