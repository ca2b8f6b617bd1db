import { describe, expect, it } from 'vitest';
import { compareQuantities, isQuantity, parseQuantity } from './quantity.ts';

describe('quantities', () => {
  it.each([
    ['16Gi', '8192Mi', 1],
    ['8Gi', '8192Mi', 0],
    ['0.5Gi', '512Mi', 0],
    ['1G', '1Gi', -1],
    ['1e3', '1k', 0],
    ['100m', '0.1', 0],
    ['64Gi', '64Gi', 0],
    ['1.5Ti', '1536Gi', 0],
    ['2', '1500m', 1],
    ['-1', '0', -1],
  ] as const)('%s compared with %s is %i', (a, b, want) => {
    expect(compareQuantities(a, b)).toBe(want);
  });

  it('rounds up to whole units', () => {
    expect(parseQuantity('1Ki').asInteger()).toBe(1024n);
    expect(parseQuantity('1500m').asInteger()).toBe(2n);
  });

  it('adds', () => {
    expect(parseQuantity('1Gi').add(parseQuantity('512Mi')).compareTo(parseQuantity('1.5Gi'))).toBe(
      0,
    );
  });

  it('refuses what is not a quantity, saying what is', () => {
    expect(isQuantity('4 GB')).toBe(false);
    expect(isQuantity('Gi')).toBe(false);
    expect(() => parseQuantity('4GB')).toThrow(
      '"4GB" is not a quantity: write a number with an optional suffix, such as 16Gi',
    );
  });
});
