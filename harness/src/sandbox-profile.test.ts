import { describe, expect, it } from 'vitest';
import { profileLines, StartupProfile } from './sandbox-profile.ts';

describe('the start-up profile', () => {
  it('lists steps in the order they began, with start, end and duration', () => {
    const lines = profileLines([
      { step: 'CRDs', startMs: 900, endMs: 1400 },
      { step: 'control plane', startMs: 100, endMs: 900 },
      { step: 'CEL workers', startMs: 100, endMs: 2000 },
    ]);
    expect(lines).toEqual([
      'start-up profile (ms from the process start)',
      '  step            start     end      ms',
      '  control plane     100     900     800',
      '  CEL workers       100    2000    1900',
      '  CRDs              900    1400     500',
    ]);
  });

  it('records a step that fails, and passes its error on', async () => {
    const p = new StartupProfile();
    await expect(p.step('boom', () => Promise.reject(new Error('no etcd')))).rejects.toThrow(
      'no etcd',
    );
    expect(await p.step('ok', () => 42)).toBe(42);
    expect(p.steps.map((s) => s.step)).toEqual(['boom', 'ok']);
    for (const s of p.steps) expect(s.endMs).toBeGreaterThanOrEqual(s.startMs);
  });
});
