import { describe, expect, it } from 'vitest';
import type { LibraryImage } from '../volumes.ts';
import { claimDisk, kernelImage, type ClaimDiskInput } from './claim-disk.ts';
import type { Claim } from './volume-file.ts';

const tiny: LibraryImage = {
  name: 'tiny-linux',
  url: 'http://images.local-engine.invalid/tiny-linux.qcow2',
  kernelBoot: { kernel: '/k', initrd: '/i', append: 'console=ttyS0' },
};
const bound = (annotations: Record<string, string> = {}): Claim => ({
  metadata: { name: 'root', namespace: 'ns1', uid: 'c1', annotations },
  spec: { volumeName: 'pvc-c1', accessModes: ['ReadWriteOnce'] },
  status: { phase: 'Bound' },
});
const input = (o: Partial<ClaimDiskInput> = {}): ClaimDiskInput => ({
  kind: 'claim',
  namespace: 'ns1',
  name: 'root',
  claim: bound(),
  pv: { spec: { local: { path: '/s/volumes/pvc-c1' }, volumeMode: 'Filesystem' } },
  fileExists: () => true,
  sizeOf: () => 64,
  library: [tiny],
  node: 'n1',
  ...o,
});
const waiting = (o: Partial<ClaimDiskInput>): string | undefined => {
  const got = claimDisk(input(o));
  return got.kind === 'waiting' ? got.waiting.waiting : got.kind;
};

describe('claimDisk', () => {
  it('is the bound volume’s file, raw, with the claim’s name and modes', () => {
    expect(claimDisk(input())).toEqual({
      kind: 'disk',
      disk: {
        uid: 'c1',
        sizeBytes: 64,
        path: '/s/volumes/pvc-c1/disk.img',
        format: 'raw',
        claimName: 'root',
        volumeMode: 'Filesystem',
        accessModes: ['ReadWriteOnce'],
      },
    });
    const block = claimDisk(
      input({ pv: { spec: { local: { path: '/s/volumes/pvc-c1' }, volumeMode: 'Block' } } }),
    );
    expect(block).toMatchObject({ disk: { path: '/s/volumes/pvc-c1', volumeMode: 'Block' } });
  });

  it('a DataVolume’s disk is its claim’s once it is Succeeded; before, the phase is why it waits', () => {
    expect(
      waiting({ kind: 'dataVolume', dataVolume: { status: { phase: 'ImportInProgress' } } }),
    ).toBe('DataVolume ns1/root is ImportInProgress, not Succeeded');
    expect(claimDisk(input({ kind: 'dataVolume', dataVolume: {} }))).toMatchObject({
      waiting: { noPod: true },
    });
    expect(waiting({ kind: 'dataVolume', dataVolume: {} })).toBe(
      'DataVolume ns1/root is not provisioned yet, not Succeeded',
    );
    expect(claimDisk(input({ kind: 'dataVolume' })).kind).toBe('missing');
    expect(
      claimDisk(input({ kind: 'dataVolume', dataVolume: { status: { phase: 'Succeeded' } } })).kind,
    ).toBe('disk');
  });

  it('waits for an unbound claim; a WaitForFirstConsumer one is given this node once', () => {
    const pending: Claim = { metadata: { name: 'root', uid: 'c1' }, status: { phase: 'Pending' } };
    expect(waiting({ claim: pending })).toBe(
      '0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims (claim ns1/root is Pending)',
    );
    const wffc = { provisioner: 'p', volumeBindingMode: 'WaitForFirstConsumer' };
    expect(claimDisk(input({ claim: pending, cls: wffc }))).toEqual({
      kind: 'waiting',
      waiting: {
        waiting:
          'claim ns1/root is Pending: waiting for its volume to be provisioned on node n1 (WaitForFirstConsumer)',
      },
      selectNode: true,
    });
    const selected: Claim = {
      ...pending,
      metadata: {
        ...pending.metadata,
        annotations: { 'volume.kubernetes.io/selected-node': 'n1' },
      },
    };
    expect(claimDisk(input({ claim: selected, cls: wffc }))).not.toHaveProperty('selectNode');
    expect(claimDisk(input({ claim: undefined })).kind).toBe('missing');
  });

  it('waits while the bound volume has no file here', () => {
    expect(waiting({ fileExists: () => false })).toBe(
      'claim ns1/root is bound to volume pvc-c1, which has no file on this machine',
    );
    expect(waiting({ pv: { spec: {} } })).toContain('has no file');
  });
});

describe('kernelImage', () => {
  it('boots the tiny kernel for a claim imported from its URL or marked as a clone of one', () => {
    const of = (a: Record<string, string>): string | undefined =>
      kernelImage(bound(a), [tiny])?.name;
    expect(of({ 'cdi.kubevirt.io/storage.import.endpoint': tiny.url })).toBe('tiny-linux');
    expect(of({ 'local-engine.vmplane.io/kernel-from': 'tiny-linux' })).toBe('tiny-linux');
    expect(
      of({ 'cdi.kubevirt.io/storage.import.endpoint': 'http://x.invalid/y.qcow2' }),
    ).toBeUndefined();
    expect(of({})).toBeUndefined();
    expect(
      claimDisk(input({ claim: bound({ 'local-engine.vmplane.io/kernel-from': 'tiny-linux' }) })),
    ).toMatchObject({ disk: { image: tiny } });
  });
});
