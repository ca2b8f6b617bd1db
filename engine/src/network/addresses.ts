// IPv4 arithmetic for the engine's node network (pure): CIDRs, the pod range's allocator, and
// interface names short enough for Linux (15 bytes).
import { createHash } from 'node:crypto';

export interface Cidr {
  /** The network address as a number. */
  base: number;
  prefix: number;
}

export const ipToInt = (ip: string): number => {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`"${ip}" is not an IPv4 address (a.b.c.d)`);
  return (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) >>> 0;
};

export const intToIp = (n: number): string =>
  [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

const maskOf = (prefix: number): number => (prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0);

/** "10.244.0.0/24" (or an address with its prefix, "192.168.7.10/24": its network). */
export function parseCidr(text: string): Cidr {
  const [ip = '', p] = text.split('/');
  const prefix = Number(p);
  if (p === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32)
    throw new Error(`"${text}" is not an IPv4 CIDR (a.b.c.d/0-32)`);
  return { base: (ipToInt(ip) & maskOf(prefix)) >>> 0, prefix };
}

export const cidrText = (c: Cidr): string => `${intToIp(c.base)}/${c.prefix}`;
export const netmaskOf = (c: Cidr): string => intToIp(maskOf(c.prefix));
export const inCidr = (c: Cidr, ip: string): boolean =>
  (ipToInt(ip) & maskOf(c.prefix)) >>> 0 === c.base;
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
