import { describe, expect, it } from 'vitest';
import { isSubset } from './objects.ts';

describe('isSubset', () => {
  it('accepts extra fields the engine defaulted, and nothing less than what we set', () => {
    expect(
      isSubset(
        { a: 1, b: { c: [1, { d: 2 }] } },
        { a: 1, z: 9, b: { c: [1, { d: 2, e: 3 }], y: 0 } },
      ),
    ).toBe(true);
    expect(isSubset({ a: 1 }, { a: 2 })).toBe(false);
    expect(isSubset({ b: { c: [1, 2] } }, { b: { c: [1] } })).toBe(false);
    expect(isSubset({ a: {} }, { a: null })).toBe(false);
    expect(isSubset({ a: undefined }, {})).toBe(true);
  });
});
