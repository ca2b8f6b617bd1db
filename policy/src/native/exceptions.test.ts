// When the generated objects change by themselves: the next expiry of an exception in force.
import { describe, expect, it } from 'vitest';
import type { VirtualMachinePolicyException } from '../../../api/generated/types.ts';
import { exceptionActive } from './exceptions.ts';
import { nextExceptionExpiry } from './plan.ts';

const NOW = new Date('2026-11-22T00:00:00Z');
const ex = (expires?: string): VirtualMachinePolicyException => ({
  apiVersion: 'vmplane.io/v1alpha1',
  kind: 'VirtualMachinePolicyException',
  metadata: { name: 'e', namespace: 'dev' },
  spec: {
    policyName: 'p',
    vmNames: ['a'],
    reason: 'a reason long enough',
    ...(expires ? { expires } : {}),
  },
});

describe('nextExceptionExpiry', () => {
  it('is the first expiry ahead, when the generated objects must change', () => {
    expect(
      nextExceptionExpiry(
        [ex('2026-01-01T00:00:00Z'), ex(), ex('2027-03-01T00:00:00Z'), ex('2026-12-01T00:00:00Z')],
        NOW,
      ),
    ).toEqual(new Date('2026-12-01T00:00:00Z'));
    expect(nextExceptionExpiry([ex('2026-01-01T00:00:00Z'), ex()], NOW)).toBeUndefined();
  });

  it('ends an exception at its expiry, as the webhook does (an unreadable one never ends)', () => {
    expect(exceptionActive(ex('2026-11-22T00:00:00Z'), NOW)).toBe(false);
    expect(exceptionActive(ex('2026-11-22T00:00:01Z'), NOW)).toBe(true);
    expect(exceptionActive(ex('not a date'), NOW)).toBe(true);
    expect(exceptionActive(ex(), NOW)).toBe(true);
  });
});
