// Disk files belong to one object each. A DataVolume belongs to the VM whose template made it: a
// second VM with the same template name gets no share of it, and deleting that VM leaves it alone.
// A claim's disk is the file of the volume the engine provisioned for it: deleted and made again,
// the claim gets a new volume and a new, empty file; grown while the guest is stopped, the guest's
// disk is bigger at the next start (QEMU's own view of the block device). The guests here boot
// firmware only (no disk holds an OS), which is quick.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubevirtVm, startTestEngine, type Obj, type TestEngine } from '../support/engine.ts';

const PROVISIONER = 'local.disk-files-test.vmplane.io';
let t: TestEngine;
const blank = (name: string): object => ({
  metadata: { name },
  spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '8Mi' } } } },
});
const condition = (o: Obj | undefined, type: string): Record<string, unknown> | undefined =>
  (o?.status?.conditions as { type: string }[] | undefined)?.find((c) => c.type === type);
const dvPath = (name: string): string =>
  `/apis/cdi.kubevirt.io/v1beta1/namespaces/${t.ns}/datavolumes/${name}`;
const pvcPath = (name = ''): string =>
  `/api/v1/namespaces/${t.ns}/persistentvolumeclaims${name ? `/${name}` : ''}`;
const className = (): string => `expandable-${t.ns}`;

beforeAll(async () => {
  t = await startTestEngine('disks', { provisioners: [PROVISIONER] });
}, 300_000);

afterAll(async () => {
  if (t) {
    await t.rest.request('DELETE', pvcPath()).catch(() => undefined);
    await t
      .until('the claims’ volumes gone', async () => {
        const pvs = await t.rest.request<{ items: Obj[] }>('GET', '/api/v1/persistentvolumes');
        return !pvs.body.items.some(
          (p) => (p.spec.claimRef as { namespace?: string } | undefined)?.namespace === t.ns,
        );
      })
      .catch(() => undefined);
    await t.rest
      .request('DELETE', `/apis/storage.k8s.io/v1/storageclasses/${className()}`)
      .catch(() => undefined);
  }
  await t?.stop();
}, 120_000);

describe('DataVolume disks', () => {
  it('a second VM with the same template name gets no share of the first one’s DataVolume', async () => {
    const vm = (name: string): object =>
      kubevirtVm(
        t.ns,
        name,
        { runStrategy: 'Halted', dataVolumeTemplates: [blank('shared-name')] },
        { volumes: [{ name: 'data', dataVolume: { name: 'shared-name' } }] },
        { devices: { disks: [{ name: 'data', disk: { bus: 'virtio' } }] } },
      );
    await t.rest.create(vm('first') as never);
    const first = await t.until('the first VM’s DataVolume', async () => {
      const dv = await t.get(dvPath('shared-name'));
      return dv ? ((await t.get(t.vmPath('first'))) as Obj) : undefined;
    });
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
    // Deleting the second VM leaves the first one's DataVolume alone.
    await t.rest.request('DELETE', t.vmPath('second'));
    await t.until('the second VM gone', async () => !(await t.get(t.vmPath('second'))));
    const dv = await t.get(dvPath('shared-name'));
    expect(
      (dv?.metadata as { ownerReferences?: { uid: string }[] }).ownerReferences?.[0]?.uid,
    ).toBe(first.metadata.uid);
    await t.rest.request('DELETE', t.vmPath('first'));
    await t.until('the first VM gone', async () => !(await t.get(t.vmPath('first'))));
  }, 180_000);
});

describe('claim disks', () => {
  const claim = (size: string): object => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data', namespace: t.ns },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: size } },
      storageClassName: className(),
    },
  });
  const volumeFile = async (): Promise<string> => {
    const c = await t.until('the claim Bound', async () => {
      const x = await t.get(pvcPath('data'));
      return x?.status?.phase === 'Bound' ? x : undefined;
    });
    return join(t.stateDir, 'volumes', String(c.spec.volumeName), 'disk.img');
  };
  /** Runs the guest once; gives the size QEMU gives the guest's disk. */
  const runOnce = async (): Promise<number> => {
    await t.engine.start(t.ns, 'claimer');
    await t.until('the instance Running', async () => {
      const x = await t.get(t.vmiPath('claimer'));
      return x?.status?.phase === 'Running';
    });
    const guest = t.engine.running.get(`${t.ns}/claimer`);
    const blocks = (await guest?.qmp.execute('query-block')) as {
      device: string;
      qdev?: string;
      inserted?: { image: { 'virtual-size': number } };
    }[];
    await t.engine.stop(t.ns, 'claimer', { gracePeriod: 0 });
    await t.until('the instance gone', async () => !(await t.get(t.vmiPath('claimer'))));
    return blocks.find((b) => b.inserted)?.inserted?.image['virtual-size'] ?? 0;
  };

  it('follows its claim: the claim’s own volume, grown with it, a new volume for a new claim', async () => {
    await t.rest.create({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: className() },
      provisioner: PROVISIONER,
      allowVolumeExpansion: true,
    } as never);
    await t.rest.create(claim('8Mi') as never);
    await t.rest.create(
      kubevirtVm(
        t.ns,
        'claimer',
        { runStrategy: 'Manual' },
        { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] },
        { devices: { disks: [{ name: 'data', disk: { bus: 'virtio' } }] } },
      ) as never,
    );
    const first = await volumeFile();
    expect(await runOnce()).toBe(8 * 2 ** 20);
    // The claim grows while the guest is stopped: the guest's disk is bigger at the next start.
    await t.rest.request('PATCH', pvcPath('data'), {
      body: { spec: { resources: { requests: { storage: '16Mi' } } } },
      contentType: 'application/merge-patch+json',
    });
    await t.until('the claim grown', async () => {
      const x = await t.get(pvcPath('data'));
      return x?.status?.capacity?.storage === '16Mi';
    });
    expect(statSync(first).size).toBe(16 * 2 ** 20);
    expect(await runOnce()).toBe(16 * 2 ** 20);
    // Deleted and made again, it is another claim: another volume, another, empty file.
    await t.rest.request('DELETE', pvcPath('data'));
    await t.until('the claim gone', async () => !(await t.get(pvcPath('data'))));
    await t.until('the old volume’s file gone', async () => !existsSync(first));
    await t.rest.create(claim('8Mi') as never);
    const second = await volumeFile();
    expect(second).not.toBe(first);
    expect(await runOnce()).toBe(8 * 2 ** 20);
  }, 240_000);
});
