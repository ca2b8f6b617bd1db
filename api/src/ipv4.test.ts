import { describe, expect, it } from 'vitest';
import { cidrText, inCidr, intToIp, ipToInt, isIPv4, parseCidr } from './ipv4.ts';

describe('IPv4 arithmetic', () => {
  it('turns dotted quads into numbers and back', () => {
    expect(ipToInt('10.244.0.1')).toBe(0x0af40001);
    expect(ipToInt('255.255.255.255')).toBe(0xffffffff);
    expect(intToIp(0xc0a86401)).toBe('192.168.100.1');
  });

  it('refuses what is not a dotted quad of 0-255', () => {
    for (const bad of ['10.0.0', '10.0.0.256', '1.2.3.4.5', 'a.b.c.d', '', ' 1.2.3.4', 'fd00::1'])
      expect(isIPv4(bad), bad).toBe(false);
  });

  it('clears a CIDR’s host bits and tests membership', () => {
    const c = parseCidr('192.168.7.10/24');
    expect(c && cidrText(c)).toBe('192.168.7.0/24');
    expect(inCidr(c!, '192.168.7.255')).toBe(true);
    expect(inCidr(c!, '192.168.8.0')).toBe(false);
    expect(inCidr(c!, 'nonsense')).toBe(false);
    expect(inCidr(parseCidr('0.0.0.0/0')!, '203.0.113.9')).toBe(true);
    expect(parseCidr('10.0.0.1/32')).toEqual({ base: 0x0a000001, prefix: 32 });
  });

  it('refuses what is not an IPv4 CIDR', () => {
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/8/8', 'fd00::/8'])
      expect(parseCidr(bad), bad).toBeUndefined();
  });
});
