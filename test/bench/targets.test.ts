// Each figure of the report beside its target, met or missed; a zero or missing figure is refused.
import { describe, expect, it } from 'vitest';
import { fig, meets, targetRow, TARGETS, withTarget } from '../../bench/targets.ts';

describe('targets', () => {
  it('say met or missed by the direction of the target', () => {
    expect(meets(0.9, TARGETS.e2eCreatesPerSecond)).toBe(true);
    expect(meets(0.89, TARGETS.e2eCreatesPerSecond)).toBe(false);
    expect(meets(1.1, TARGETS.e2eCreateP99)).toBe(true);
    expect(meets(1.11, TARGETS.e2eCreateP99)).toBe(false);
    expect(meets(499, TARGETS.webhookReadyExistingCertMs)).toBe(true);
    expect(meets(500, TARGETS.webhookReadyExistingCertMs)).toBe(false);
  });

  it('write the figure beside its target and the verdict', () => {
    expect(withTarget(1.05, TARGETS.e2eCreateP99)).toBe('**1.05** (target ≤ 1.1: met)');
    expect(withTarget(300, TARGETS.webhookRssMb)).toBe('**300 MB** (target ≤ 256 MB: missed)');
    expect(targetRow('webhook RSS', 200, TARGETS.webhookRssMb)).toBe(
      '| webhook RSS | 200 MB | ≤ 256 MB | met |',
    );
  });

  it('refuse a figure of zero, missing or not a number, naming it', () => {
    expect(() => fig(0, 'creates/s')).toThrow('report: creates/s is 0, not a measured figure');
    expect(() => fig(undefined, 'p99')).toThrow('report: p99 is undefined');
    expect(() => withTarget(Number.NaN, TARGETS.e2eCreateP99, 'p99 ratio')).toThrow('p99 ratio');
    expect(fig(0.5, 'ratio')).toBe(0.5);
  });
});
