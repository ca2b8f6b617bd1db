// IPv4 arithmetic (pure), shared by admission (static pools), the local engine's node network and
// its NetworkPolicy: dotted quads to numbers and back, CIDRs with their host bits cleared.

/** A CIDR: its network address as a number and its prefix length. */
export interface Cidr {
  base: number;
  prefix: number;
}

/** The address as a number, or undefined when it is not a dotted quad of 0-255. */
export function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

export const intToIp = (n: number): string =>
  [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export const isIPv4 = (s: string): boolean => ipToInt(s) !== undefined;

/** The netmask of a prefix length as a number. */
export const maskOf = (prefix: number): number =>
  prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;

/** "10.244.0.0/24" (an address with its prefix, "192.168.7.10/24", is its network), or undefined. */
export function parseCidr(text: string): Cidr | undefined {
  const [addr = '', len, extra] = text.split('/');
  const ip = ipToInt(addr);
  if (ip === undefined || extra !== undefined || !/^\d{1,2}$/.test(len ?? '')) return undefined;
  const prefix = Number(len);
  if (prefix > 32) return undefined;
  return { base: (ip & maskOf(prefix)) >>> 0, prefix };
}

export const cidrText = (c: Cidr): string => `${intToIp(c.base)}/${c.prefix}`;

/** Whether `ip` (a dotted quad) lies in the CIDR; false for what is not an address. */
export function inCidr(c: Cidr, ip: string): boolean {
  const n = ipToInt(ip);
  return n !== undefined && (n & maskOf(c.prefix)) >>> 0 === c.base;
}
