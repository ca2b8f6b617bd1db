import { describe, expect, it } from 'vitest';
import { reportName, reportOf } from './serving-reports.ts';

describe('serving reports', () => {
  it('names reports after the replica, as a DNS subdomain, and reads them back', () => {
    expect(reportName('Webhooks-7f9c_Pod')).toBe('vmplane-webhook-serving-webhooks-7f9c-pod');
    expect(reportName('---')).toBe('vmplane-webhook-serving-replica');
    expect(
      reportOf({
        metadata: { name: 'x', annotations: { 'vmplane.io/serving-ca': 'AB:CD' } },
        spec: {
          holderIdentity: 'pod-a',
          leaseDurationSeconds: 60,
          renewTime: '2026-11-30T06:00:00.000000Z',
        },
      }),
    ).toEqual({
      identity: 'pod-a',
      caFingerprint: 'AB:CD',
      expiresAt: Date.parse('2026-11-30T06:01:00Z'),
    });
    expect(reportOf({ metadata: { name: 'x' }, spec: {} })).toBeUndefined();
  });
});
