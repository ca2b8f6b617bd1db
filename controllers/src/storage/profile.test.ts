import { describe, expect, it } from 'vitest';
import { fixHint, profileStatus } from './profile.ts';

const sc = (provisioner: string) => ({ name: 'fast', provisioner });

describe('profileStatus', () => {
  it('takes modes from the provisioner table and says so', () => {
    const s = profileStatus({ storageClass: sc('rbd.csi.ceph.com'), generation: 3, now: 'T1' });
    expect(s).toMatchObject({
      observedGeneration: 3,
      storageClass: 'fast',
      provisioner: 'rbd.csi.ceph.com',
    });
    expect(s.claimPropertySets.length).toBeGreaterThan(0);
    expect(s.conditions).toEqual([
      {
        type: 'Recognized',
        status: 'True',
        reason: 'KnownProvisioner',
        message: 'access and volume modes known for provisioner rbd.csi.ceph.com',
        observedGeneration: 3,
        lastTransitionTime: 'T1',
      },
    ]);
  });

  it("lets an administrator's spec win over the table", () => {
    const sets = [{ accessModes: ['ReadWriteMany' as const], volumeMode: 'Block' as const }];
    const s = profileStatus({
      storageClass: sc('rbd.csi.ceph.com'),
      spec: { claimPropertySets: sets, cloneStrategy: 'snapshot' },
      generation: 1,
      now: 'T1',
    });
    expect(s.claimPropertySets).toEqual(sets);
    expect(s.cloneStrategy).toBe('snapshot');
    expect(s.conditions[0]?.reason).toBe('SpecOverride');
  });

  it('says how to fix an unknown provisioner, and keeps the transition time while nothing changes', () => {
    const first = profileStatus({
      storageClass: sc('example.com/unknown'),
      generation: 1,
      now: 'T1',
    });
    expect(first.claimPropertySets).toEqual([]);
    expect(first.conditions[0]).toMatchObject({
      status: 'False',
      reason: 'UnrecognizedProvisioner',
      lastTransitionTime: 'T1',
    });
    expect(first.conditions[0]?.message).toContain(fixHint('fast'));
    const again = profileStatus({
      storageClass: sc('example.com/unknown'),
      generation: 1,
      previousConditions: first.conditions,
      now: 'T2',
    });
    expect(again.conditions[0]?.lastTransitionTime).toBe('T1');
  });
});
