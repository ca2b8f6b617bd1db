// Disk files belong to one object each: a DataVolume's file to that DataVolume (two VMs with the
// same template name never share one, and deleting one VM never deletes the other's disk), and a
// claim's file to that claim (deleted and made again, it is a new, empty disk; grown, the disk
// grows). The guests here boot firmware only (no disk holds an OS), which is quick.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diskInfo } from '../../engine/src/disks.ts';
import { kubevirtVm, startTestEngine, type Obj, type TestEngine } from '../support/engine.ts';

let t: TestEngine;
const blank = (name: string): object => ({
  metadata: { name },
  spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '8Mi' } } } },
});
const condition = (o: Obj | undefined, type: string): Record<string, unknown> | undefined =>
  (o?.status?.conditions as { type: string }[] | undefined)?.find((c) => c.type === type);
const files = (kind: 'datavolumes' | 'claims'): string[] => {
  const dir = join(t.stateDir, kind);
  return existsSync(dir) ? readdirSync(dir) : [];
};
const uidOf = async (path: string): Promise<string> => (await t.get(path))?.metadata.uid ?? '';
const dvPath = (name: string): string =>
  `/apis/cdi.kubevirt.io/v1beta1/namespaces/${t.ns}/datavolumes/${name}`;
const pvcPath = (name: string): string =>
  `/api/v1/namespaces/${t.ns}/persistentvolumeclaims/${name}`;

beforeAll(async () => {
  t = await startTestEngine('disks');
}, 300_000);

afterAll(async () => {
  if (t)
    await t.rest
      .request('DELETE', `/apis/storage.k8s.io/v1/storageclasses/expandable-${t.ns}`)
      .catch(() => undefined);
  await t?.stop();
});

describe('DataVolume disks', () => {
  it('a second VM with the same template name gets no share of the first one’s disk', async () => {
    const vm = (name: string): object =>
      kubevirtVm(
        t.ns,
        name,
        { dataVolumeTemplates: [blank('shared-name')] },
        { volumes: [{ name: 'data', dataVolume: { name: 'shared-name' } }] },
        { devices: { disks: [{ name: 'data', disk: { bus: 'virtio' } }] } },
      );
    await t.rest.create(vm('first') as never);
    await t.until('the first VM Running', async () => {
      const x = await t.get(t.vmPath('first'));
      return x?.status?.printableStatus === 'Running';
    });
    const dvUid = await uidOf(dvPath('shared-name'));
    expect(files('datavolumes')).toEqual([`${dvUid}.qcow2`]);
    await t.rest.create(vm('second') as never);
    // The DataVolume is the first VM's: virt-controller does not adopt another VM's.
    const second = await t.until('the second VM’s Failure', async () => {
      const x = await t.get(t.vmPath('second'));
      return condition(x, 'Failure') ? x : undefined;
    });
    expect(condition(second, 'Failure')).toMatchObject({
      reason: 'FailedCreate',
      message:
        'DataVolume shared-name already exists and is not controlled by VirtualMachine second',
    });
    expect(await t.get(t.vmiPath('second'))).toBeUndefined();
    // Deleting the second VM leaves the first one's disk alone.
    await t.rest.request('DELETE', t.vmPath('second'));
    await t.until('the second VM gone', async () => !(await t.get(t.vmPath('second'))));
    expect(files('datavolumes')).toEqual([`${dvUid}.qcow2`]);
    await t.rest.request('DELETE', t.vmPath('first'));
    await t.until('the first VM gone', async () => !(await t.get(t.vmPath('first'))));
    expect(files('datavolumes')).toEqual([]);
  }, 180_000);
});

describe('claim disks', () => {
  const vm = kubevirtVm(
    '',
    'claimer',
    { runStrategy: 'Manual' },
    { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] },
    { devices: { disks: [{ name: 'data', disk: { bus: 'virtio' } }] } },
  ) as { metadata: { namespace: string } };
  const claim = (size: string): object => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: 'data',
      namespace: t.ns,
      annotations: { 'volume.kubernetes.io/storage-provisioner': 'disks.test.vmplane.io' },
    },
    // Named for a volume and bound by hand: no kube-controller-manager binds claims here, and only
    // a bound claim may grow.
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: size } },
      volumeName: `pv-${t.ns}`,
      storageClassName: `expandable-${t.ns}`,
    },
  });
  const bind = async (): Promise<void> => {
    await t.rest.request('PATCH', `${pvcPath('data')}/status`, {
      body: { status: { phase: 'Bound', capacity: { storage: '1Gi' } } },
      contentType: 'application/merge-patch+json',
    });
  };
  const runOnce = async (): Promise<void> => {
    await t.engine.start(t.ns, 'claimer');
    await t.until('the instance Running', async () => {
      const x = await t.get(t.vmiPath('claimer'));
      return x?.status?.phase === 'Running';
    });
    await t.engine.stop(t.ns, 'claimer', { gracePeriod: 0 });
    await t.until('the instance gone', async () => !(await t.get(t.vmiPath('claimer'))));
  };

  it('follows its claim: named by the claim’s UID, grown with it, a new disk for a new claim', async () => {
    vm.metadata.namespace = t.ns;
    // A class that lets claims grow (the API server's resize admission asks for one).
    await t.rest.create({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: `expandable-${t.ns}` },
      provisioner: 'disks.test.vmplane.io',
      allowVolumeExpansion: true,
    } as never);
    await t.rest.create(claim('8Mi') as never);
    await bind();
    await t.rest.create(vm as never);
    await runOnce();
    const first = await uidOf(pvcPath('data'));
    expect(files('claims')).toEqual([`${first}.qcow2`]);
    const path = join(t.stateDir, 'claims', `${first}.qcow2`);
    expect((await diskInfo(path)).virtualSize).toBe(8 * 2 ** 20);
    // The claim grows: its disk grows at the next start.
    await t.rest.request('PATCH', pvcPath('data'), {
      body: { spec: { resources: { requests: { storage: '16Mi' } } } },
      contentType: 'application/merge-patch+json',
    });
    await runOnce();
    expect((await diskInfo(path)).virtualSize).toBe(16 * 2 ** 20);
    // Deleted and made again, it is another claim: another, empty disk.
    await t.rest.request('DELETE', pvcPath('data'));
    // No kube-controller-manager runs here: its pvc-protection finalizer is let go by hand.
    await t.rest.request('PATCH', pvcPath('data'), {
      body: { metadata: { finalizers: null } },
      contentType: 'application/merge-patch+json',
    });
    await t.until('the claim gone', async () => !(await t.get(pvcPath('data'))));
    await t.rest.create(claim('8Mi') as never);
    await runOnce();
    const second = await uidOf(pvcPath('data'));
    expect(second).not.toBe(first);
    // The old claim's disk went with it.
    expect(files('claims')).toEqual([`${second}.qcow2`]);
  }, 240_000);
});
