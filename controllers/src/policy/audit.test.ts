import { describe, expect, it } from 'vitest';
import { sameExceptAuditTime } from './audit.ts';

describe('sameExceptAuditTime', () => {
  const status = {
    observedGeneration: 2,
    violations: { audited: 3, failed: 1, excepted: 0 },
    lastAuditTime: 'T1',
  };
  it('ignores when the audit ran, and the order of keys (the API server sorts them)', () => {
    expect(sameExceptAuditTime(status, { ...status, lastAuditTime: 'T2' })).toBe(true);
    expect(
      sameExceptAuditTime(
        {
          violations: { failed: 1, excepted: 0, audited: 3 },
          lastAuditTime: 'T0',
          observedGeneration: 2,
        },
        status,
      ),
    ).toBe(true);
  });
  it('sees any other change', () => {
    expect(
      sameExceptAuditTime(status, {
        ...status,
        violations: { audited: 3, failed: 2, excepted: 0 },
      }),
    ).toBe(false);
    expect(sameExceptAuditTime(undefined, status)).toBe(false);
  });
  it("leaves the native-policy controller's status.enforcement out (it never writes or clears it)", () => {
    const enforcement = { observedGeneration: 2, native: ['a'], webhook: [] };
    expect(sameExceptAuditTime({ ...status, enforcement }, status)).toBe(true);
  });
});
