import { describe, expect, it } from 'vitest';
import { inCidr, matches, parseCidr } from './selector.ts';

describe('matches', () => {
  it('an empty selector matches everything', () => expect(matches({}, {})).toBe(true));
  it('matchLabels and every operator', () => {
    const l = { app: 'web', tier: 'front' };
    expect(matches({ matchLabels: { app: 'web' } }, l)).toBe(true);
    expect(matches({ matchLabels: { app: 'db' } }, l)).toBe(false);
    expect(
      matches(
        { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] },
        l,
      ),
    ).toBe(true);
    expect(
      matches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, l),
    ).toBe(false);
    expect(
      matches({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['x'] }] }, l),
    ).toBe(true);
    expect(matches({ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, l)).toBe(false);
    expect(matches({ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, l)).toBe(
      true,
    );
  });
});

describe('CIDRs', () => {
  it('clears host bits and tests membership', () => {
    const c = parseCidr('f', '10.244.0.77/24');
    expect(c.text).toBe('10.244.0.0/24');
    expect(inCidr(c, '10.244.0.200')).toBe(true);
    expect(inCidr(c, '10.244.1.1')).toBe(false);
    expect(inCidr(parseCidr('f', '0.0.0.0/0'), '192.168.3.4')).toBe(true);
  });
  it('refuses what is not an IPv4 CIDR', () => {
    for (const bad of ['10.0.0.0', '10.0.0.0/33', 'fd00::/8', '300.0.0.0/8'])
      expect(() => parseCidr('x.cidr', bad)).toThrow(/x\.cidr: .* is not accepted/);
  });
});
