import { describe, expect, it } from 'vitest';
import { isEstablished, withTransitionTime } from './conditions.ts';

describe('withTransitionTime', () => {
  const prev = [
    {
      type: 'Ready',
      status: 'False',
      reason: 'Pending',
      message: '',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    },
  ];
  it('keeps the time when the status of the type did not change', () => {
    expect(
      withTransitionTime(
        prev,
        { type: 'Ready', status: 'False', reason: 'Other', message: 'm' },
        'now',
      ),
    ).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'Other',
      message: 'm',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    });
  });
  it('takes now when the status changed or the type is new', () => {
    expect(
      withTransitionTime(
        prev,
        { type: 'Ready', status: 'True', reason: 'Ready', message: '' },
        'now',
      ).lastTransitionTime,
    ).toBe('now');
    expect(
      withTransitionTime(prev, { type: 'Other', status: 'False', reason: 'X', message: '' }, 'now')
        .lastTransitionTime,
    ).toBe('now');
    expect(
      withTransitionTime(
        undefined,
        { type: 'Ready', status: 'False', reason: 'X', message: '' },
        'now',
      ).lastTransitionTime,
    ).toBe('now');
  });
});

describe('isEstablished', () => {
  it('reads the Established condition of a CRD', () => {
    expect(
      isEstablished({ status: { conditions: [{ type: 'Established', status: 'True' }] } }),
    ).toBe(true);
    expect(
      isEstablished({ status: { conditions: [{ type: 'Established', status: 'False' }] } }),
    ).toBe(false);
    expect(isEstablished({})).toBe(false);
    expect(isEstablished(undefined)).toBe(false);
  });
});
