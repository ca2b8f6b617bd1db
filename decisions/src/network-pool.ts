// Pure arithmetic of addresses: static pools (which IPv4 addresses a Network hands out, how many,
// a random free one), vmplane's MAC range, and the NetworkAddress names that make each address
// a claim the API server keeps unique (a second create of the same name is AlreadyExists).
import type { Network } from '../../api/generated/types.ts';

export type StaticPool = NonNullable<NonNullable<Network['spec']['ipam']>['staticPool']>;

/** vmplane's MAC range: 02:76:6d ("vm" in ASCII after the locally administered 02). */
export const MAC_PREFIX = '02:76:6d';

export { intToIp, ipToInt, parseCidr } from '../../api/src/ipv4.ts';
import { intToIp, ipToInt, parseCidr } from '../../api/src/ipv4.ts';

type Span = [number, number];

/**
 * The inclusive spans of addresses a pool hands out, sorted and merged: the given ranges (or the
 * whole subnet) without the network address, the broadcast address and the gateway.
 */
export function poolSpans(pool: StaticPool): Span[] {
  const net = parseCidr(pool.cidr);
  if (!net) return [];
  const first = net.base;
  const last = net.base + 2 ** (32 - net.prefix) - 1;
  const given: Span[] = pool.ranges?.length
    ? pool.ranges.map((r) => [ipToInt(r.start) ?? 1, ipToInt(r.end) ?? 0])
    : [[first, last]];
  const gateway = pool.gateway ? ipToInt(pool.gateway) : undefined;
  const holes = [first, last, ...(gateway === undefined ? [] : [gateway])];
  let spans = given
    .map(([s, e]): Span => [Math.max(s, first), Math.min(e, last)])
    .filter(([s, e]) => s <= e);
  for (const h of holes)
    spans = spans.flatMap(([s, e]): Span[] =>
      h < s || h > e
        ? [[s, e]]
        : (
            [
              [s, h - 1],
              [h + 1, e],
            ] as Span[]
          ).filter(([a, b]) => a <= b),
    );
  spans.sort((a, b) => a[0] - b[0]);
  const merged: Span[] = [];
  for (const sp of spans) {
    const prev = merged[merged.length - 1];
    if (prev && sp[0] <= prev[1] + 1) prev[1] = Math.max(prev[1], sp[1]);
    else merged.push([sp[0], sp[1]]);
  }
  return merged;
}

export function poolSize(pool: StaticPool): number {
  return poolSpans(pool).reduce((n, [s, e]) => n + e - s + 1, 0);
}

export function inPool(pool: StaticPool, ip: string): boolean {
  const n = ipToInt(ip);
  return n !== undefined && poolSpans(pool).some(([s, e]) => n >= s && n <= e);
}

/** The ranges in words, for messages: 192.168.100.2-192.168.100.13, 192.168.100.20-... */
export function describeRanges(pool: StaticPool): string {
  return poolSpans(pool)
    .map(([s, e]) => (s === e ? intToIp(s) : `${intToIp(s)}-${intToIp(e)}`))
    .join(', ');
}

/**
 * A free address of the pool, chosen at random (so concurrent admissions rarely pick the same
 * one), or undefined when every address is taken. `random` returns a number in [0, 1).
 */
export function pickFreeIp(
  pool: StaticPool,
  taken: ReadonlySet<string>,
  random: () => number,
): string | undefined {
  const spans = poolSpans(pool);
  const size = spans.reduce((n, [s, e]) => n + e - s + 1, 0);
  if (size === 0) return undefined;
  const start = Math.floor(random() * size);
  for (let k = 0; k < size; k++) {
    let offset = (start + k) % size;
    for (const [s, e] of spans) {
      const len = e - s + 1;
      if (offset < len) {
        const ip = intToIp(s + offset);
        if (!taken.has(ip)) return ip;
        break;
      }
      offset -= len;
    }
  }
  return undefined;
}

/** A MAC address of vmplane's range, chosen at random. */
export function randomMac(random: () => number): string {
  const byte = (): string =>
    Math.floor(random() * 256)
      .toString(16)
      .padStart(2, '0');
  return `${MAC_PREFIX}:${byte()}:${byte()}:${byte()}`;
}

export function normalizeMac(mac: string): string {
  return mac.toLowerCase();
}

/** The NetworkAddress that claims a MAC address: mac-02-76-6d-00-00-01. */
export function macClaimName(mac: string): string {
  return `mac-${normalizeMac(mac).replace(/:/g, '-')}`;
}

/** The NetworkAddress that claims an IP address of a network: ip-lab-192-168-100-7. */
export function ipClaimName(network: string, ip: string): string {
  return `ip-${network}-${ip.replace(/\./g, '-')}`;
}

/** The denial for an exhausted pool, with the network's usage. */
export function exhaustedMessage(network: string, pool: StaticPool, allocated: number): string {
  const size = poolSize(pool);
  return `network "${network}" has no free address: ${Math.min(allocated, size)} of ${size} allocated in ${pool.cidr} (ranges ${describeRanges(pool)}); free addresses by deleting VMs on it, or widen spec.ipam.staticPool.ranges`;
}
