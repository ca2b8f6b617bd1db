import { describe, expect, it } from 'vitest';
import type { VirtualMachine, VirtualMachinePolicy } from '../../api/generated/types.ts';
import { staticLookups } from '../../kube/src/lookups.ts';
import { mutateVirtualMachine, validateVirtualMachine } from './vm.ts';
import { API_VERSION, Finalizers } from '../../api/src/wellknown.ts';
import { l, vm, world } from '../../test/support/decisions.ts';

const V = API_VERSION;

describe('VM mutation', () => {
  it('fills power state, image kind, boot disk size and storage, and labels', () => {
    const r = mutateVirtualMachine(
      vm('web', { className: 'best-effort-small', disks: [{ name: 'scratch', size: '5Gi' }] }),
      l,
    );
    expect(r.denial).toBeUndefined();
    expect(r.object.spec).toMatchObject({
      powerState: 'PoweredOn',
      image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu' },
      bootDisk: {
        size: '10Gi',
        storageClassName: 'local',
        accessModes: ['ReadWriteOnce'],
        volumeMode: 'Filesystem',
      },
      disks: [
        {
          name: 'scratch',
          size: '5Gi',
          storageClassName: 'local',
          accessModes: ['ReadWriteOnce'],
          volumeMode: 'Filesystem',
        },
      ],
    });
    expect(r.object.metadata.labels).toEqual({
      'vmplane.io/class': 'best-effort-small',
      'vmplane.io/image': 'ubuntu',
    });
    expect(r.notes).toContain(
      'spec.bootDisk.storageClassName=local (cluster default StorageClass)',
    );
  });

  it('is idempotent: mutating its own output changes nothing', () => {
    const once = mutateVirtualMachine(vm('web', { className: 'best-effort-small' }), l).object;
    const twice = mutateVirtualMachine(once, l);
    expect(twice.object).toEqual(once);
    expect(twice.notes).toEqual([]);
  });

  it('adds the cleanup finalizer on creation only, once, keeping finalizers already there', () => {
    const created = mutateVirtualMachine(
      {
        ...vm('web', {}),
        metadata: { name: 'web', namespace: 'team-a', finalizers: ['example.com/keep'] },
      },
      l,
      { creating: true },
    );
    expect(created.object.metadata.finalizers).toEqual(['example.com/keep', Finalizers.vmCleanup]);
    expect(created.notes).toContain(`metadata.finalizers+=${Finalizers.vmCleanup}`);
    expect(
      mutateVirtualMachine(created.object, l, { creating: true }).object.metadata.finalizers,
    ).toEqual(['example.com/keep', Finalizers.vmCleanup]);
    // An update (which is how the controller removes it while the VM is deleted) never adds it back.
    expect(mutateVirtualMachine(vm('web', {}), l).object.metadata.finalizers).toBeUndefined();
  });

  it('does not touch its input', () => {
    const input = vm('web', {});
    const copy = structuredClone(input);
    mutateVirtualMachine(input, l);
    expect(input).toEqual(copy);
  });

  it('prefers a namespace image over a cluster image of the same name', () => {
    const r = mutateVirtualMachine(vm('w', { image: { name: 'team-base' } }), l);
    expect(r.object.spec.image).toEqual({ kind: 'VirtualMachineImage', name: 'team-base' });
  });

  it('takes the default class from a namespace annotation', () => {
    const r = mutateVirtualMachine(vm('w', {}, 'annotated'), l);
    expect(r.object.spec.className).toBe('best-effort-small');
    expect(r.notes).toContain(
      'spec.className=best-effort-small (namespace annotation vmplane.io/default-class)',
    );
  });

  it('lets a policy default win over the annotation', () => {
    const policy: VirtualMachinePolicy = {
      apiVersion: V,
      kind: 'VirtualMachinePolicy',
      metadata: { name: 'defaults' },
      spec: {
        validationActions: ['Audit'],
        defaults: { className: 'guaranteed-medium', storageClassName: 'ceph' },
      },
    };
    const r = mutateVirtualMachine(
      vm('w', {}, 'annotated'),
      staticLookups({ ...world, policies: [policy] }),
    );
    expect(r.object.spec.className).toBe('guaranteed-medium');
    expect(r.object.spec.bootDisk?.storageClassName).toBe('ceph');
    expect(r.object.spec.bootDisk?.volumeMode).toBe('Block');
  });

  it('denies a disk on storage with no known modes, naming the StorageProfile', () => {
    const r = mutateVirtualMachine(
      vm('w', {
        className: 'best-effort-small',
        disks: [{ name: 'd', size: '1Gi', storageClassName: 'vendor' }],
      }),
      l,
    );
    expect(r.denial?.field).toBe('spec.disks[0].volumeMode');
    expect(r.denial?.message).toContain('StorageProfile "vendor"');
  });
});

describe('VM validation', () => {
  const v = (spec: Partial<VirtualMachine['spec']>, namespace = 'team-a'): VirtualMachine =>
    mutateVirtualMachine(vm('new', spec, namespace), l).object;

  it('admits a VM with an available class and a known image', () => {
    expect(validateVirtualMachine(v({ className: 'best-effort-small' }), undefined, l)).toEqual({
      denials: [],
      warnings: [],
    });
  });

  it('says which classes are available when the class is not', () => {
    const r = validateVirtualMachine(v({ className: 'gpu-large' }), undefined, l);
    expect(r.denials).toEqual([
      {
        field: 'spec.className',
        code: 403,
        message:
          'class "gpu-large" is not available in namespace "team-a"; available: best-effort-small, guaranteed-medium',
      },
    ]);
  });

  it('offers the GPU class where the namespace selector matches', () => {
    expect(
      validateVirtualMachine(v({ className: 'gpu-large' }, 'ml'), undefined, l).denials,
    ).toEqual([]);
  });

  it('says a class does not exist', () => {
    expect(validateVirtualMachine(v({ className: 'huge' }), undefined, l).denials[0]?.message).toBe(
      'class "huge" does not exist; available in namespace "team-a": best-effort-small, guaranteed-medium',
    );
  });

  it('requires a class when the namespace has no default', () => {
    expect(validateVirtualMachine(v({}), undefined, l).denials[0]?.message).toContain(
      'required: namespace "team-a" has no default class',
    );
  });

  it('refuses an unknown image, listing those available', () => {
    const r = validateVirtualMachine(
      v({ className: 'best-effort-small', image: { name: 'windows' } }),
      undefined,
      l,
    );
    expect(r.denials.map((d) => d.field)).toContain('spec.image.name');
    expect(r.denials.find((d) => d.field === 'spec.image.name')?.message).toBe(
      'image "windows" does not exist in namespace "team-a" or the cluster library; available: fedora (ClusterVirtualMachineImage), team-base (VirtualMachineImage), ubuntu (ClusterVirtualMachineImage)',
    );
  });

  it('refuses a missing disk and a disk attached elsewhere', () => {
    const r = validateVirtualMachine(
      v({
        className: 'best-effort-small',
        disks: [
          { name: 'a', virtualMachineDiskName: 'nope' },
          { name: 'b', virtualMachineDiskName: 'shared' },
          { name: 'c', virtualMachineDiskName: 'data' },
        ],
      }),
      undefined,
      l,
    );
    expect(r.denials).toEqual([
      {
        field: 'spec.disks[0].virtualMachineDiskName',
        code: 422,
        message:
          'VirtualMachineDisk "nope" does not exist in namespace "team-a"; disks here: data, shared',
      },
      {
        field: 'spec.disks[1].virtualMachineDiskName',
        code: 409,
        message:
          'VirtualMachineDisk "shared" is already attached to VM "holder"; detach it there first',
      },
    ]);
  });

  it('warns that a class change on a running VM waits for the next power cycle', () => {
    const old = v({ className: 'best-effort-small' });
    const next = structuredClone(old);
    next.spec.className = 'guaranteed-medium';
    const r = validateVirtualMachine(next, old, l);
    expect(r.denials).toEqual([]);
    expect(r.warnings[0]).toContain('takes effect at its next power cycle');
    next.spec.powerState = 'PoweredOff';
    expect(validateVirtualMachine(next, old, l).warnings).toEqual([]);
  });

  it('keeps admitting updates of a VM whose class was since withdrawn from its namespace', () => {
    const old = v({ className: 'gpu-large' });
    const next = structuredClone(old);
    next.spec.powerState = 'PoweredOff';
    expect(validateVirtualMachine(next, old, l).denials).toEqual([]);
  });
});
