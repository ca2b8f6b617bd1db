import { describe, expect, it } from 'vitest';
import {
  inCidr,
  intToIp,
  ipToInt,
  lastHost,
  linkName,
  netmaskOf,
  nextFree,
  parseCidr,
} from './addresses.ts';

describe('node network addresses', () => {
  it('reads and writes IPv4 addresses and CIDRs', () => {
    expect(intToIp(ipToInt('10.244.0.17'))).toBe('10.244.0.17');
    expect(parseCidr('192.168.7.10/24')).toEqual({ base: ipToInt('192.168.7.0'), prefix: 24 });
    expect(netmaskOf(parseCidr('10.0.0.0/16'))).toBe('255.255.0.0');
    expect(inCidr(parseCidr('10.244.0.0/24'), '10.244.0.9')).toBe(true);
    expect(inCidr(parseCidr('10.244.0.0/24'), '10.244.1.9')).toBe(false);
    expect(lastHost(parseCidr('192.168.7.0/24'))).toBe('192.168.7.254');
    expect(() => parseCidr('10.0.0.0')).toThrow(/not an IPv4 CIDR/);
    expect(() => ipToInt('10.0.0.300')).toThrow(/"10.0.0.300" is not an IPv4 address/);
  });

  it('gives the lowest free pod address, and none when the range is full', () => {
    expect(nextFree('10.244.0.0/24', new Set(['10.244.0.1']))).toBe('10.244.0.2');
    expect(nextFree('10.244.0.0/30', new Set(['10.244.0.1', '10.244.0.2']))).toBeUndefined();
  });

  it('names links within 15 bytes, differently per key', () => {
    expect(linkName('vp', 'ns/a')).toHaveLength(15);
    expect(linkName('vp', 'ns/a')).not.toBe(linkName('vp', 'ns/b'));
  });
});
