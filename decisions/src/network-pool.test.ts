import { describe, expect, it } from 'vitest';
import {
  describeRanges,
  exhaustedMessage,
  inPool,
  ipClaimName,
  macClaimName,
  parseCidr,
  pickFreeIp,
  poolSize,
  poolSpans,
  randomMac,
  intToIp,
} from './network-pool.ts';

/** A deterministic random source: the numbers given, then 0. */
const seq =
  (...xs: number[]) =>
  () =>
    xs.shift() ?? 0;

describe('static pools', () => {
  it('parses a CIDR to its network address', () => {
    expect(parseCidr('192.168.100.7/24')).toEqual({
      base: ((192 << 24) >>> 0) + 168 * 65536 + 100 * 256,
      prefix: 24,
    });
    expect(parseCidr('300.1.1.1/24')).toBeUndefined();
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
  });

  it('hands out the whole subnet minus network, broadcast and gateway by default', () => {
    const pool = { cidr: '192.168.100.0/28', gateway: '192.168.100.1' };
    expect(poolSize(pool)).toBe(13);
    expect(describeRanges(pool)).toBe('192.168.100.2-192.168.100.14');
    expect(inPool(pool, '192.168.100.1')).toBe(false);
    expect(inPool(pool, '192.168.100.15')).toBe(false);
    expect(inPool(pool, '192.168.100.14')).toBe(true);
  });

  it('keeps to the ranges, cut at the subnet, with the gateway taken out', () => {
    const pool = {
      cidr: '10.1.0.0/24',
      gateway: '10.1.0.20',
      ranges: [
        { start: '10.1.0.10', end: '10.1.0.30' },
        { start: '10.1.0.250', end: '10.1.1.10' },
      ],
    };
    expect(poolSpans(pool).map(([s, e]) => `${intToIp(s)}-${intToIp(e)}`)).toEqual([
      '10.1.0.10-10.1.0.19',
      '10.1.0.21-10.1.0.30',
      '10.1.0.250-10.1.0.254',
    ]);
    expect(poolSize(pool)).toBe(25);
  });

  it('picks a free address at random and none when all are taken', () => {
    const pool = { cidr: '10.2.0.0/29' }; // .1 to .6
    expect(pickFreeIp(pool, new Set(), seq(0))).toBe('10.2.0.1');
    expect(pickFreeIp(pool, new Set(), seq(0.99))).toBe('10.2.0.6');
    // A taken candidate moves on to the next free one, wrapping around.
    expect(pickFreeIp(pool, new Set(['10.2.0.6']), seq(0.99))).toBe('10.2.0.1');
    const all = new Set(['1', '2', '3', '4', '5', '6'].map((d) => `10.2.0.${d}`));
    expect(pickFreeIp(pool, all, Math.random)).toBeUndefined();
  });

  it('says which network is exhausted and how much of it is used', () => {
    const pool = {
      cidr: '192.168.100.0/28',
      gateway: '192.168.100.1',
      ranges: [{ start: '192.168.100.2', end: '192.168.100.13' }],
    };
    expect(exhaustedMessage('lab', pool, 12)).toBe(
      'network "lab" has no free address: 12 of 12 allocated in 192.168.100.0/28 (ranges 192.168.100.2-192.168.100.13); free addresses by deleting VMs on it, or widen spec.ipam.staticPool.ranges',
    );
  });
});

describe('MAC addresses and claim names', () => {
  it('draws MACs from 02:76:6d', () => {
    expect(randomMac(seq(0, 0.5, 0.999))).toBe('02:76:6d:00:80:ff');
  });

  it('names a claim after its address', () => {
    expect(macClaimName('02:76:6D:0A:0b:0c')).toBe('mac-02-76-6d-0a-0b-0c');
    expect(ipClaimName('lab', '192.168.100.7')).toBe('ip-lab-192-168-100-7');
  });
});
