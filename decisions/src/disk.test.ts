import { describe, expect, it } from 'vitest';
import { staticLookups } from '../../kube/src/lookups.ts';
import { disk, l, vm } from '../../test/support/decisions.ts';
import {
  mutateVirtualMachineDisk,
  validateDiskDelete,
  validateVirtualMachineDisk,
} from './disk.ts';

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

describe('deleting a disk', () => {
  const uses = (name: string, diskName: string, namespace = 'team-a') =>
    vm(name, { disks: [{ name: 'data', virtualMachineDiskName: diskName }] }, namespace);

  it('is refused while a VM of its namespace names it, naming the VMs', () => {
    const lookups = staticLookups({
      vms: [uses('db-2', 'data'), uses('db-1', 'data'), uses('web', 'other')],
    });
    expect(validateDiskDelete('team-a', 'data', lookups)).toEqual({
      field: 'metadata.name',
      code: 409,
      message:
        'VirtualMachineDisk "data" is still attached to VMs "db-1", "db-2": remove it from the VM\'s spec.disks (or delete the VM) first',
    });
    expect(
      validateDiskDelete('team-a', 'other', lookups)?.message.startsWith(
        'VirtualMachineDisk "other" is still attached to VM "web":',
      ),
    ).toBe(true);
  });

  it('is allowed when only VMs of other namespaces, or VMs being deleted, name it', () => {
    const leaving = uses('old', 'data');
    leaving.metadata = { ...leaving.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } as never;
    const lookups = staticLookups({ vms: [uses('elsewhere', 'data', 'team-b'), leaving] });
    expect(validateDiskDelete('team-a', 'data', lookups)).toBeUndefined();
  });

  it('is refused while a disk cloned from it is still being filled', () => {
    const copy = (name: string, phase?: 'Importing' | 'Ready' | 'Failed') => ({
      ...disk('team-a', name, { source: { disk: { name: 'golden' } } }),
      ...(phase ? { status: { phase } } : {}),
    });
    const lookups = staticLookups({
      disks: [
        copy('c-new'),
        copy('c-busy', 'Importing'),
        copy('c-done', 'Ready'),
        copy('c-bad', 'Failed'),
      ],
    });
    expect(validateDiskDelete('team-a', 'golden', lookups)?.message).toBe(
      'VirtualMachineDisk "golden" is being cloned by disks "c-busy" (Importing), "c-new" (Pending): wait until the clone is Ready, or delete it first',
    );
    const settled = staticLookups({ disks: [copy('c-done', 'Ready'), copy('c-bad', 'Failed')] });
    expect(validateDiskDelete('team-a', 'golden', settled)).toBeUndefined();
  });

  it('lists at most five VMs', () => {
    const lookups = staticLookups({
      vms: ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => uses(n, 'shared')),
    });
    expect(validateDiskDelete('team-a', 'shared', lookups)?.message).toContain(
      '"a", "b", "c", "d", "e" and 2 more:',
    );
  });
});

describe('a disk cloned from another', () => {
  const golden = disk('team-a', 'golden', { size: '2Gi' });
  const lookups = staticLookups({ disks: [golden] });
  const clone = (size: string, from = 'golden') =>
    disk('team-a', 'copy', { size, source: { disk: { name: from } } });
  const denials = (d: ReturnType<typeof clone>) =>
    validateVirtualMachineDisk(d, undefined, lookups).denials.filter((x) =>
      ['spec.size', 'spec.source.disk.name'].includes(x.field),
    );

  it('is admitted when the source exists and is no bigger', () => {
    expect(denials(clone('2Gi'))).toEqual([]);
    expect(denials(clone('3Gi'))).toEqual([]);
  });

  it('is refused when the source is missing, itself, or bigger', () => {
    expect(denials(clone('2Gi', 'nope'))).toEqual([
      {
        field: 'spec.source.disk.name',
        code: 422,
        message:
          'VirtualMachineDisk "nope" does not exist in namespace "team-a": create it first, or clone another (kubectl get vmdisk -n team-a)',
      },
    ]);
    expect(denials(clone('2Gi', 'copy'))[0]?.message).toBe(
      '"copy" is this disk itself: name another VirtualMachineDisk to clone',
    );
    expect(denials(clone('1Gi'))).toEqual([
      {
        field: 'spec.size',
        code: 422,
        message:
          '1Gi is smaller than VirtualMachineDisk "golden" (2Gi), which it clones: a clone needs at least its source\'s size',
      },
    ]);
  });

  it('is not checked again on updates (the source is immutable, and may be gone by then)', () => {
    const c = clone('1Gi', 'nope');
    expect(
      validateVirtualMachineDisk(c, c, lookups).denials.filter(
        (x) => x.field !== 'spec.storageClassName',
      ),
    ).toEqual([]);
  });
});
