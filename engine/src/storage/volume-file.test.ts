import { describe, expect, it } from 'vitest';
import {
  expansionFor,
  provisionedVolume,
  pvFolder,
  releasedToDelete,
  shouldProvision,
  volumeFile,
  type Claim,
  type StorageClass,
  type Volume,
} from './volume-file.ts';

const played = ['local.test.vmplane.io'];
const claim = (extra: Partial<Claim['metadata']> = {}, spec: Claim['spec'] = {}): Claim => ({
  metadata: {
    name: 'data',
    namespace: 'ns1',
    uid: 'u-1',
    resourceVersion: '7',
    annotations: { 'volume.kubernetes.io/storage-provisioner': 'local.test.vmplane.io' },
    ...extra,
  },
  spec: {
    accessModes: ['ReadWriteOnce'],
    storageClassName: 'local',
    resources: { requests: { storage: '8Mi' } },
    ...spec,
  },
  status: { phase: 'Pending' },
});
const cls = (o: Partial<StorageClass> = {}): StorageClass => ({
  metadata: { name: 'local' },
  provisioner: 'local.test.vmplane.io',
  ...o,
});

describe('volumeFile', () => {
  it('is disk.img inside a Filesystem volume and the path itself for a Block volume', () => {
    const pv = (volumeMode?: string): Volume => ({
      spec: { local: { path: '/s/volumes/pvc-1' }, ...(volumeMode ? { volumeMode } : {}) },
    });
    expect(volumeFile(pv())).toBe('/s/volumes/pvc-1/disk.img');
    expect(volumeFile(pv('Filesystem'))).toBe('/s/volumes/pvc-1/disk.img');
    expect(volumeFile(pv('Block'))).toBe('/s/volumes/pvc-1');
    expect(volumeFile({ spec: {} })).toBeUndefined();
    expect(pvFolder('/s', 'pvc-1')).toBe('/s/volumes/pvc-1');
  });
});

describe('shouldProvision', () => {
  it('provisions a pending claim handed to a provisioner it plays (either annotation)', () => {
    expect(shouldProvision(claim(), cls(), played, ['n1'])).toEqual({
      provision: true,
      provisioner: 'local.test.vmplane.io',
    });
    const beta = claim({
      annotations: { 'volume.beta.kubernetes.io/storage-provisioner': 'local.test.vmplane.io' },
    });
    expect(shouldProvision(beta, cls(), played, ['n1']).provision).toBe(true);
  });

  it('leaves bound, named, unhanded, foreign and deleting claims alone, saying why', () => {
    const why = (c: Claim, k = cls()): string => {
      const d = shouldProvision(c, k, played, ['n1']);
      return d.provision ? 'provision' : d.reason;
    };
    expect(why(claim({}, { volumeName: 'pv-x' }))).toMatch('names volume pv-x');
    expect(why({ ...claim(), status: { phase: 'Bound' } })).toMatch('is Bound');
    expect(why(claim({ annotations: {} }))).toMatch('no volume.kubernetes.io/storage-provisioner');
    expect(
      why(claim({ annotations: { 'volume.kubernetes.io/storage-provisioner': 'other.io' } })),
    ).toMatch('other.io is not one the engine plays');
    expect(why(claim({ deletionTimestamp: '2026-01-01T00:00:00Z' }))).toMatch('being deleted');
    expect(why(claim(), cls({ provisioner: 'other.io' }))).toMatch('provisioned by other.io');
    expect(shouldProvision(claim(), undefined, played, ['n1'])).toEqual({
      provision: false,
      reason: 'storage class local not found',
    });
  });

  it('waits for the first consumer until this node is selected', () => {
    const wffc = cls({ volumeBindingMode: 'WaitForFirstConsumer' });
    expect(shouldProvision(claim(), wffc, played, ['n1'])).toEqual({
      provision: false,
      reason: 'waiting for first consumer to be created before binding',
    });
    const selected = (node: string): Claim =>
      claim({
        annotations: {
          'volume.kubernetes.io/storage-provisioner': 'local.test.vmplane.io',
          'volume.kubernetes.io/selected-node': node,
        },
      });
    expect(shouldProvision(selected('n1'), wffc, played, ['n1']).provision).toBe(true);
    expect(shouldProvision(selected('n2'), wffc, played, ['n1']).provision).toBe(false);
    // Any of the engine's nodes will do: its files are on the machine they share.
    expect(shouldProvision(selected('n2'), wffc, played, ['n1', 'n2']).provision).toBe(true);
  });
});

describe('provisionedVolume', () => {
  it('is the PV an external provisioner writes: claimRef, annotation, finalizer, local path, node', () => {
    const pv = provisionedVolume({
      claim: claim({}, { volumeMode: 'Block', accessModes: ['ReadWriteMany'] }),
      cls: cls({ reclaimPolicy: 'Delete' }),
      provisioner: 'local.test.vmplane.io',
      nodes: ['n1'],
      stateDir: '/s',
    });
    expect(pv).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: {
        name: 'pvc-u-1',
        annotations: { 'pv.kubernetes.io/provisioned-by': 'local.test.vmplane.io' },
        finalizers: ['external-provisioner.volume.kubernetes.io/finalizer'],
      },
      spec: {
        capacity: { storage: '8Mi' },
        accessModes: ['ReadWriteMany'],
        volumeMode: 'Block',
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: 'local',
        claimRef: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace: 'ns1',
          name: 'data',
          uid: 'u-1',
          resourceVersion: '7',
        },
        local: { path: '/s/volumes/pvc-u-1' },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              {
                matchExpressions: [
                  { key: 'kubernetes.io/hostname', operator: 'In', values: ['n1'] },
                ],
              },
            ],
          },
        },
      },
    });
    expect(volumeFile(pv)).toBe('/s/volumes/pvc-u-1');
  });

  it('defaults to Delete and Filesystem; a retained volume carries no provisioner finalizer', () => {
    const base = { claim: claim(), provisioner: 'p', nodes: ['n1'], stateDir: '/s' };
    const deleted = provisionedVolume({ ...base, cls: cls() });
    expect(deleted.spec?.persistentVolumeReclaimPolicy).toBe('Delete');
    expect(deleted.spec?.volumeMode).toBe('Filesystem');
    const kept = provisionedVolume({ ...base, cls: cls({ reclaimPolicy: 'Retain' }) });
    expect(kept.spec?.persistentVolumeReclaimPolicy).toBe('Retain');
    expect(kept.metadata?.finalizers).toBeUndefined();
  });
});

describe('expansionFor', () => {
  const bound = (request: string, capacity: string): Claim => ({
    ...claim({}, { resources: { requests: { storage: request } }, volumeName: 'pvc-u-1' }),
    status: { phase: 'Bound', capacity: { storage: capacity } },
  });
  const pv = (capacity: string): Volume => ({
    spec: { capacity: { storage: capacity }, claimRef: { uid: 'u-1' } },
  });
  it('grows a bound claim asking for more when the class allows it', () => {
    const grow = cls({ allowVolumeExpansion: true });
    expect(expansionFor(bound('16Mi', '8Mi'), pv('8Mi'), grow)).toEqual({
      kind: 'grow',
      bytes: 16 * 2 ** 20,
      size: '16Mi',
    });
    expect(expansionFor(bound('16Mi', '8Mi'), pv('16Mi'), grow)).toEqual({
      kind: 'finish',
      size: '16Mi',
    });
    expect(expansionFor(bound('8Mi', '8Mi'), pv('8Mi'), grow)).toEqual({ kind: 'none' });
    expect(expansionFor(bound('16Mi', '8Mi'), pv('8Mi'), cls())).toEqual({ kind: 'none' });
    expect(expansionFor(claim(), pv('8Mi'), grow)).toEqual({ kind: 'none' });
    const other: Volume = { spec: { capacity: { storage: '8Mi' }, claimRef: { uid: 'u-2' } } };
    expect(expansionFor(bound('16Mi', '8Mi'), other, grow)).toEqual({ kind: 'none' });
  });
});

describe('releasedToDelete', () => {
  const pv = (phase: string, by = 'local.test.vmplane.io', reclaim = 'Delete'): Volume => ({
    metadata: { annotations: { 'pv.kubernetes.io/provisioned-by': by } },
    spec: { persistentVolumeReclaimPolicy: reclaim },
    status: { phase },
  });
  it('deletes only released volumes of its own provisioners reclaimed by deletion', () => {
    expect(releasedToDelete(pv('Released'), played)).toBe(true);
    expect(releasedToDelete(pv('Bound'), played)).toBe(false);
    expect(releasedToDelete(pv('Released', 'other.io'), played)).toBe(false);
    expect(releasedToDelete(pv('Released', undefined, 'Retain'), played)).toBe(false);
    expect(releasedToDelete({ status: { phase: 'Released' } }, played)).toBe(false);
  });
});
