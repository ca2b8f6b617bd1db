// A measured run that had errors gives no figure: it fails with the first error's text.
import { describe, expect, it } from 'vitest';
import { MeasureError, mustSucceed, stats, statsOf, timed } from '../../bench/measure.ts';

describe('measured runs', () => {
  it('give percentiles and a rate when every operation succeeded', async () => {
    const r = await timed(20, 4, async () => undefined);
    expect(r.errors).toBe(0);
    expect(r.firstError).toBeUndefined();
    const s = statsOf('ok', r);
    expect(s.n).toBe(20);
    expect(s.rps).toBeGreaterThan(0);
  });

  it('fail with how many failed and the first error when any did', async () => {
    const r = await timed(10, 1, async (i) => {
      if (i >= 7) throw new Error(`x509: certificate signed by unknown authority (${i})`);
    });
    expect(r).toMatchObject({
      errors: 3,
      firstError: 'x509: certificate signed by unknown authority (7)',
    });
    expect(() => statsOf('e2e vmplane: 10 VM creates', r)).toThrow(
      'e2e vmplane: 10 VM creates: 3 of 10 operations failed; the first: x509: certificate signed by unknown authority (7)',
    );
    expect(() => mustSucceed('setup', r)).toThrow(MeasureError);
  });

  it('fail when nothing was measured, instead of reporting 0 ms', () => {
    expect(() => stats([], 1, 0)).toThrow('no operation was measured');
    expect(() => stats([], 0, 5, 'refused')).toThrow(
      '5 of 5 operations failed; the first: refused',
    );
  });
});
