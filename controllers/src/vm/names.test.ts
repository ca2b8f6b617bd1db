import { describe, expect, it } from 'vitest';
import type { KubernetesObject } from '@kubernetes/client-node';
import { bootDataVolumeName, diskDataVolumeName, generatedName, isVmDataVolume } from './names.ts';

describe('generated names', () => {
  it('keep the VM and disk readable, with a hash that separates namesakes', () => {
    expect(bootDataVolumeName('web')).toMatch(/^web-boot-[0-9a-f]{8}$/);
    expect(diskDataVolumeName('db', 'data')).toMatch(/^db-data-[0-9a-f]{8}$/);
    expect(bootDataVolumeName('web')).toBe(bootDataVolumeName('web'));
  });

  it('do not collide where the old `<vm>-<disk>` names did', () => {
    // VM web with inline disk 1-boot, and VM web-1's boot disk.
    expect(diskDataVolumeName('web', '1-boot')).not.toBe(bootDataVolumeName('web-1'));
    // VM db's inline disk data, and a VirtualMachineDisk db-data (whose claim is named db-data).
    expect(diskDataVolumeName('db', 'data')).not.toBe('db-data');
    // VM a with disk b-c, and VM a-b with disk c.
    expect(diskDataVolumeName('a', 'b-c')).not.toBe(diskDataVolumeName('a-b', 'c'));
  });

  it('give distinct names for many hyphenated pairs that spell the same prefix', () => {
    const names = new Set<string>();
    const parts = ['a', 'b', 'a-b', 'b-a', 'a-b-a', '1', '1-boot', 'boot'];
    for (const vm of parts) for (const disk of parts) names.add(generatedName(vm, disk));
    expect(names.size).toBe(parts.length * parts.length);
  });

  it('fit a DNS label even for the longest names, and stay distinct when cut', () => {
    const long = 'v'.repeat(250);
    const a = diskDataVolumeName(long, 'data-a');
    const b = diskDataVolumeName(long, 'data-b');
    for (const n of [a, b, bootDataVolumeName(`${'x'.repeat(60)}.example`)]) {
      expect(n.length).toBeLessThanOrEqual(63);
      expect(n).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    expect(a).not.toBe(b);
  });
});

describe('whose a DataVolume is', () => {
  const vm = { name: 'web', uid: 'vm-uid' };
  const dv = (metadata: Record<string, unknown>): KubernetesObject => ({ metadata });

  it('the VM owns what its controller reference names: it or its KubeVirt VM, by UID', () => {
    const ref = (uid: string) => ({ ownerReferences: [{ uid, controller: true }] });
    expect(isVmDataVolume(dv(ref('vm-uid')), vm)).toBe(true);
    expect(isVmDataVolume(dv(ref('kv-uid')), vm, 'kv-uid')).toBe(true);
  });

  it("labels and annotations anyone in the namespace can write never make a DataVolume the VM's", () => {
    // The VM's UID is readable by whoever can read the VM; a user could copy both onto their own
    // DataVolume and have vmplane delete it with the VM.
    expect(
      isVmDataVolume(
        dv({
          labels: { 'vmplane.io/vm': 'web', 'app.kubernetes.io/managed-by': 'vmplane' },
          annotations: { 'vmplane.io/owner-uid': 'vm-uid' },
        }),
        vm,
      ),
    ).toBe(false);
    // A reference that is not the controlling one is not ownership either (anyone may add one).
    expect(isVmDataVolume(dv({ ownerReferences: [{ uid: 'vm-uid' }] }), vm)).toBe(false);
    expect(
      isVmDataVolume(dv({ ownerReferences: [{ uid: 'kv-uid', controller: false }] }), vm, 'kv-uid'),
    ).toBe(false);
  });

  it("a namesake is not the VM's: no reference, another UID, or a label alone", () => {
    expect(isVmDataVolume(dv({}), vm)).toBe(false);
    expect(isVmDataVolume(dv({ ownerReferences: [{ uid: 'other' }] }), vm, 'kv-uid')).toBe(false);
    expect(isVmDataVolume(dv({ labels: { 'vmplane.io/vm': 'web' } }), vm)).toBe(false);
    expect(
      isVmDataVolume(
        dv({ labels: { 'vmplane.io/vm': 'web' }, annotations: { 'vmplane.io/owner-uid': 'old' } }),
        vm,
      ),
    ).toBe(false);
    expect(isVmDataVolume(dv({ ownerReferences: [{ uid: '' }] }), { name: 'web', uid: '' })).toBe(
      false,
    );
  });
});
