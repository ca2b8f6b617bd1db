// IPv4 arithmetic for the engine's node network (pure): CIDRs, the pod range's allocator, and
// interface names short enough for Linux (15 bytes).
import { createHash } from 'node:crypto';
import * as shared from '../../../api/src/ipv4.ts';
import { intToIp, maskOf, type Cidr } from '../../../api/src/ipv4.ts';

export type { Cidr } from '../../../api/src/ipv4.ts';
export { cidrText, inCidr, intToIp } from '../../../api/src/ipv4.ts';

/** The address as a number; what is not an address is an error naming it. */
export const ipToInt = (ip: string): number => {
  const n = shared.ipToInt(ip);
  if (n === undefined) throw new Error(`"${ip}" is not an IPv4 address (a.b.c.d)`);
  return n;
};

/** "10.244.0.0/24" (or an address with its prefix, "192.168.7.10/24": its network). */
export function parseCidr(text: string): Cidr {
  const c = shared.parseCidr(text);
  if (!c) throw new Error(`"${text}" is not an IPv4 CIDR (a.b.c.d/0-32)`);
  return c;
}

export const netmaskOf = (c: Cidr): string => intToIp(maskOf(c.prefix));
/** The last address before the broadcast address. */
export const lastHost = (c: Cidr): string => intToIp(c.base + 2 ** (32 - c.prefix) - 2);

/**
 * The lowest free host address of the range, skipping the network address, the broadcast address
 * and `used` (the node's address among them); undefined when the range is full.
 */
export function nextFree(range: string, used: ReadonlySet<string>): string | undefined {
  const c = parseCidr(range);
  const size = 2 ** (32 - c.prefix);
  for (let i = 1; i < size - 1; i++) {
    const ip = intToIp(c.base + i);
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

/** A Linux interface name (at most 15 bytes) for `key`: the prefix and a hash of the key. */
export const linkName = (prefix: string, key: string): string =>
  `${prefix}${createHash('sha256').update(key).digest('hex')}`.slice(0, 15);
