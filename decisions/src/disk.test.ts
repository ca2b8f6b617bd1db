import { describe, expect, it } from 'vitest';
import { disk, l } from '../../test/support/decisions.ts';
import { mutateVirtualMachineDisk, validateVirtualMachineDisk } from './disk.ts';

describe('disks and deletion guards', () => {
  it('defaults a disk from the StorageProfile and validates its image', () => {
    const r = mutateVirtualMachineDisk(disk('team-a', 'x', { storageClassName: 'ceph' }), l);
    expect(r.object.spec).toMatchObject({
      storageClassName: 'ceph',
      accessModes: ['ReadWriteMany'],
      volumeMode: 'Block',
    });
    const bad = disk('team-a', 'y', {
      source: { image: { kind: 'ClusterVirtualMachineImage', name: 'gone' } },
    });
    expect(
      validateVirtualMachineDisk(mutateVirtualMachineDisk(bad, l).object, undefined, l).denials,
    ).toEqual([
      {
        field: 'spec.source.image.name',
        code: 422,
        message: 'ClusterVirtualMachineImage "gone" does not exist',
      },
    ]);
  });
});
