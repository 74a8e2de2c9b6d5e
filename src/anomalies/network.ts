// "Another network" for address_changed: the same /24 (IPv4) or /48 (IPv6) is the same network. A /24 is what a
// home or office line, or a carrier's NAT pool, usually stays within; a /48 is one site's IPv6 allocation.
import { BlockList, isIP } from 'node:net';

const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** The address as it is compared and located: IPv4-mapped IPv6 (a dual-stack socket's view) is IPv4. */
export function normaliseAddress(ip: string | null | undefined): string | null {
  if (!ip) return null;
  const mapped = IPV4_MAPPED.exec(ip);
  const address = mapped ? mapped[1]! : ip;
  return isIP(address) ? address : null;
}

/** True when both addresses are known and lie in different networks. Unknown addresses change nothing. */
export function isOtherNetwork(previous: string | null | undefined, current: string | null | undefined): boolean {
  const a = normaliseAddress(previous);
  const b = normaliseAddress(current);
  if (!a || !b) return false;
  const family = isIP(a) === 4 ? 'ipv4' : 'ipv6';
  if ((isIP(b) === 4 ? 'ipv4' : 'ipv6') !== family) return true;
  const network = new BlockList();
  network.addSubnet(a, family === 'ipv4' ? 24 : 48, family);
  return !network.check(b, family);
}
