import { describe, expect, it } from 'vitest';
import {
  claimPropertySetsFor,
  settleStorage,
  type StorageClassInfo,
  type StorageContext,
  type StorageProfileInfo,
} from './storage.ts';

const sc = (
  name: string,
  provisioner: string,
  annotations: Record<string, string> = {},
  creationTimestamp = '2026-01-01T00:00:00Z',
): StorageClassInfo => ({
  name,
  provisioner,
  annotations,
  creationTimestamp,
});

function ctx(
  classes: StorageClassInfo[],
  profiles: StorageProfileInfo[] = [],
  namespaceDefault?: StorageContext['namespaceDefault'],
): StorageContext {
  return {
    storageClasses: classes,
    profile: (n) => profiles.find((p) => p.name === n),
    ...(namespaceDefault ? { namespaceDefault } : {}),
  };
}

const ceph = sc('ceph', 'rbd.csi.ceph.com');
const local = sc('local', 'rancher.io/local-path', {
  'storageclass.kubernetes.io/is-default-class': 'true',
});
const vendor = sc('vendor', 'block.csi.example.com');

describe('storage class choice', () => {
  it('keeps an explicit class', () => {
    expect(settleStorage({ storageClassName: 'ceph' }, ctx([ceph, local]), 'spec')).toMatchObject({
      ok: true,
      storageClassName: 'ceph',
      classFrom: 'spec',
    });
  });

  it('refuses an explicit class that does not exist, listing those that do', () => {
    expect(
      settleStorage({ storageClassName: 'fast' }, ctx([ceph, local]), 'spec.disks[1]'),
    ).toEqual({
      ok: false,
      field: 'spec.disks[1].storageClassName',
      message: 'StorageClass "fast" does not exist; available: ceph, local',
    });
  });

  it('prefers the namespace default, then the VM default class, then the cluster default', () => {
    const virt = sc('virt', 'rbd.csi.ceph.com', {
      'storageclass.kubevirt.io/is-default-virt-class': 'true',
    });
    expect(
      settleStorage(
        {},
        ctx([ceph, local, virt], [], {
          storageClassName: 'ceph',
          from: 'VirtualMachinePolicy "p"',
        }),
        'spec',
      ),
    ).toMatchObject({
      storageClassName: 'ceph',
      classFrom: 'VirtualMachinePolicy "p"',
    });
    expect(settleStorage({}, ctx([ceph, local, virt]), 'spec')).toMatchObject({
      storageClassName: 'virt',
    });
    expect(settleStorage({}, ctx([ceph, local]), 'spec')).toMatchObject({
      storageClassName: 'local',
      classFrom: 'cluster default StorageClass',
    });
  });

  it('picks the newest of several defaults, as Kubernetes does', () => {
    const older = sc(
      'older',
      'rancher.io/local-path',
      { 'storageclass.kubernetes.io/is-default-class': 'true' },
      '2025-01-01T00:00:00Z',
    );
    const newer = sc(
      'newer',
      'rancher.io/local-path',
      { 'storageclass.kubernetes.io/is-default-class': 'true' },
      '2026-06-01T00:00:00Z',
    );
    expect(settleStorage({}, ctx([older, newer]), 'spec')).toMatchObject({
      storageClassName: 'newer',
    });
  });

  it('says how to fix a cluster with no default class', () => {
    const r = settleStorage({}, ctx([ceph, vendor]), 'spec');
    expect(r).toMatchObject({ ok: false, field: 'spec.storageClassName' });
    expect(r.ok || r.message).toContain(
      'set spec.storageClassName to one of: ceph, vendor, or mark a class as the default for VMs with kubectl annotate storageclass NAME storageclass.kubevirt.io/is-default-virt-class=true',
    );
  });

  it('refuses a namespace default that names a missing class', () => {
    const r = settleStorage(
      {},
      ctx([ceph], [], {
        storageClassName: 'gone',
        from: 'namespace annotation vmplane.io/default-storage-class',
      }),
      'spec',
    );
    expect(r.ok || r.message).toBe(
      'the namespace\'s default storage class "gone" (from namespace annotation vmplane.io/default-storage-class) does not exist; set spec.storageClassName to one of: ceph',
    );
  });
});

describe('access and volume modes (CDI rules)', () => {
  it('takes the first claim property set when neither is given', () => {
    expect(settleStorage({ storageClassName: 'ceph' }, ctx([ceph]), 'spec')).toMatchObject({
      accessModes: ['ReadWriteMany'],
      volumeMode: 'Block',
    });
  });

  it('with only a volume mode, takes the access modes of the first set with it', () => {
    expect(
      settleStorage({ storageClassName: 'ceph', volumeMode: 'Filesystem' }, ctx([ceph]), 'spec'),
    ).toMatchObject({
      accessModes: ['ReadWriteOnce'],
      volumeMode: 'Filesystem',
    });
  });

  it('with only access modes, takes the volume mode of the first set with exactly those', () => {
    expect(
      settleStorage(
        { storageClassName: 'ceph', accessModes: ['ReadWriteOnce'] },
        ctx([ceph]),
        'spec',
      ),
    ).toMatchObject({
      accessModes: ['ReadWriteOnce'],
      volumeMode: 'Block',
    });
  });

  it('keeps both when both are given, even for an unknown provisioner', () => {
    expect(
      settleStorage(
        { storageClassName: 'vendor', accessModes: ['ReadWriteMany'], volumeMode: 'Block' },
        ctx([vendor]),
        'spec',
      ),
    ).toMatchObject({
      ok: true,
      accessModes: ['ReadWriteMany'],
      volumeMode: 'Block',
    });
  });

  it('refuses a volume mode the storage does not offer, listing what it does', () => {
    const nfs = sc('nfs', 'nfs.csi.k8s.io');
    const r = settleStorage({ storageClassName: 'nfs', volumeMode: 'Block' }, ctx([nfs]), 'spec');
    expect(r).toMatchObject({ ok: false, field: 'spec.volumeMode' });
    expect(r.ok || r.message).toContain('supported: ReadWriteMany Filesystem');
  });

  it('refuses access modes the storage does not offer', () => {
    const r = settleStorage(
      { storageClassName: 'local', accessModes: ['ReadWriteMany'] },
      ctx([local]),
      'spec.bootDisk',
    );
    expect(r).toMatchObject({ ok: false, field: 'spec.bootDisk.accessModes' });
  });

  it('names the StorageProfile to edit and the field to set when nothing is known', () => {
    const r = settleStorage({}, ctx([vendor, local]), 'spec.disks[0]');
    expect(r.ok).toBe(true); // the default class is local; now ask for the unknown one
    const u = settleStorage({ storageClassName: 'vendor' }, ctx([vendor]), 'spec.disks[0]');
    expect(u).toMatchObject({ ok: false, field: 'spec.disks[0].volumeMode' });
    const msg = u.ok ? '' : u.message;
    expect(msg).toContain(
      'StorageClass "vendor" (provisioner block.csi.example.com) has no known access and volume modes',
    );
    expect(msg).toContain('set spec.claimPropertySets on StorageProfile "vendor"');
    expect(msg).toContain(
      `echo '{"apiVersion":"vmplane.io/v1alpha1","kind":"StorageProfile","metadata":{"name":"vendor"},"spec":{"claimPropertySets":[{"accessModes":["ReadWriteOnce"],"volumeMode":"Filesystem"}]}}' | kubectl apply -f -`,
    );
    expect(msg).toContain(
      'or set both spec.disks[0].accessModes and spec.disks[0].volumeMode on this disk',
    );
  });

  it('lets an administrator override win over the table and the status', () => {
    const sets = claimPropertySetsFor(ceph, {
      name: 'ceph',
      specSets: [{ accessModes: ['ReadWriteOnce'], volumeMode: 'Filesystem' }],
      statusSets: [{ accessModes: ['ReadWriteMany'], volumeMode: 'Block' }],
    });
    expect(sets).toEqual([{ accessModes: ['ReadWriteOnce'], volumeMode: 'Filesystem' }]);
    expect(
      claimPropertySetsFor(vendor, {
        name: 'vendor',
        statusSets: [{ accessModes: ['ReadWriteOnce'], volumeMode: 'Block' }],
      }),
    ).toEqual([{ accessModes: ['ReadWriteOnce'], volumeMode: 'Block' }]);
    expect(claimPropertySetsFor(vendor, undefined)).toEqual([]);
  });
});
