import { describe, expect, it } from 'vitest';
import { RecentKeys } from './recent.ts';

describe('RecentKeys', () => {
  it('says a key was seen within the ttl, and not after', () => {
    const r = new RecentKeys(1000);
    expect(r.check('a', 0)).toBe(false);
    expect(r.check('a', 999)).toBe(true);
    expect(r.check('a', 1000)).toBe(false);
  });

  it('drops expired keys as new ones come', () => {
    const r = new RecentKeys(1000);
    for (let i = 0; i < 100; i++) r.check(`k${i}`, i);
    expect(r.size).toBe(100);
    r.check('late', 5000);
    expect(r.size).toBe(1);
  });

  it('keeps at most max keys, dropping the oldest', () => {
    const r = new RecentKeys(1_000_000, 10);
    for (let i = 0; i < 50; i++) r.check(`k${i}`, i);
    expect(r.size).toBe(10);
    expect(r.check('k49', 60)).toBe(true);
    expect(r.check('k0', 60)).toBe(false);
  });
});
