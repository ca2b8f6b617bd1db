// The engine as a storage provisioner on a real control plane (kube-apiserver with its admission,
// kube-controller-manager's PV binder, expander and pvc-protection): a claim of a class the engine
// plays is bound to a PersistentVolume whose file holds the claim's size (filesystem and block
// modes); a WaitForFirstConsumer claim waits until an instance uses it; a bigger request grows the
// file and the claim's capacity; deleting a claim deletes its volume and file; and a claim used by
// a running guest (one tiny Linux, shared by the cases) is protected until the guest stops.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE } from '../../engine/src/engine-context.ts';
import { TINY_PROMPT } from '../../engine/src/tiny-linux.ts';
import { kubevirtVm, startTestEngine, type Obj, type TestEngine } from '../support/engine.ts';

const PROVISIONER = 'local.storage-test.vmplane.io';
const MiB = 2 ** 20;
let t: TestEngine;
const pvcPath = (name = ''): string =>
  `/api/v1/namespaces/${t.ns}/persistentvolumeclaims${name ? `/${name}` : ''}`;
const pvPath = (name: string): string => `/api/v1/persistentvolumes/${name}`;
const classOf = (kind: 'now' | 'later'): string => `${kind}-${t.ns}`;
const merge = (path: string, body: object): Promise<unknown> =>
  t.rest.request('PATCH', path, { body, contentType: 'application/merge-patch+json' });

async function claim(
  name: string,
  size: string,
  o: { kind?: 'now' | 'later'; block?: boolean; annotations?: Record<string, string> } = {},
): Promise<void> {
  await t.rest.create({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: t.ns, annotations: o.annotations ?? {} },
    spec: {
      accessModes: [o.block ? 'ReadWriteMany' : 'ReadWriteOnce'],
      storageClassName: classOf(o.kind ?? 'now'),
      resources: { requests: { storage: size } },
      ...(o.block ? { volumeMode: 'Block' } : {}),
    },
  } as never);
}

const bound = (name: string): Promise<Obj> =>
  t.until(`claim ${name} Bound`, async () => {
    const c = await t.get(pvcPath(name));
    return c?.status?.phase === 'Bound' ? c : undefined;
  });
const volumeOf = async (c: Obj): Promise<Obj> =>
  (await t.get(pvPath(String(c.spec.volumeName)))) as Obj;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  t = await startTestEngine('storage', { provisioners: [PROVISIONER] });
  for (const kind of ['now', 'later'] as const)
    await t.rest.create({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: classOf(kind) },
      provisioner: PROVISIONER,
      reclaimPolicy: 'Delete',
      allowVolumeExpansion: true,
      volumeBindingMode: kind === 'now' ? 'Immediate' : 'WaitForFirstConsumer',
    } as never);
}, 300_000);

afterAll(async () => {
  if (!t) return;
  // The claims go first, so that the engine deletes their volumes while it still runs.
  await t.rest.request('DELETE', pvcPath()).catch(() => undefined);
  await t
    .until('the claims and their volumes gone', async () => {
      const pvs = await t.rest.request<{ items: Obj[] }>('GET', '/api/v1/persistentvolumes');
      const left = pvs.body.items.filter(
        (p) => (p.spec.claimRef as { namespace?: string } | undefined)?.namespace === t.ns,
      );
      return left.length === 0;
    })
    .catch(() => undefined);
  for (const kind of ['now', 'later'] as const)
    await t.rest
      .request('DELETE', `/apis/storage.k8s.io/v1/storageclasses/${classOf(kind)}`)
      .catch(() => undefined);
  await t.stop();
}, 120_000);

describe('provisioning', () => {
  it('binds an Immediate claim to a PV whose file has the claim’s size', async () => {
    await claim('fs', '8Mi');
    const c = await bound('fs');
    const pv = await volumeOf(c);
    expect(pv.metadata.name).toBe(`pvc-${c.metadata.uid}`);
    expect(pv).toMatchObject({
      metadata: {
        annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER },
        finalizers: expect.arrayContaining(['external-provisioner.volume.kubernetes.io/finalizer']),
      },
      spec: {
        claimRef: { name: 'fs', namespace: t.ns, uid: c.metadata.uid },
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: classOf('now'),
        capacity: { storage: '8Mi' },
        local: { path: join(t.stateDir, 'volumes', pv.metadata.name ?? '') },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              {
                matchExpressions: [
                  { key: 'kubernetes.io/hostname', operator: 'In', values: [NODE] },
                ],
              },
            ],
          },
        },
      },
    });
    const file = join(t.stateDir, 'volumes', pv.metadata.name ?? '', 'disk.img');
    expect(statSync(file).size).toBe(8 * MiB);
    // Sparse: nothing written yet takes no room.
    expect(statSync(file).blocks * 512).toBeLessThan(MiB);
    const events = await t.rest.request<{ items: { reason: string; message: string }[] }>(
      'GET',
      `/api/v1/namespaces/${t.ns}/events?fieldSelector=involvedObject.name=fs`,
    );
    expect(events.body.items.map((e) => e.reason)).toEqual(
      expect.arrayContaining(['Provisioning', 'ProvisioningSucceeded']),
    );
  }, 120_000);

  it('gives a Block claim a raw file standing for the device', async () => {
    await claim('blk', '4Mi', { block: true });
    const pv = await volumeOf(await bound('blk'));
    expect(pv.spec).toMatchObject({ volumeMode: 'Block', accessModes: ['ReadWriteMany'] });
    const file = join(t.stateDir, 'volumes', pv.metadata.name ?? '');
    expect(statSync(file).isFile()).toBe(true);
    expect(statSync(file).size).toBe(4 * MiB);
  }, 120_000);

  it('grows the file, the volume and the claim’s capacity when the claim asks for more', async () => {
    await merge(pvcPath('fs'), { spec: { resources: { requests: { storage: '16Mi' } } } });
    const c = await t.until('the claim’s capacity 16Mi', async () => {
      const x = await t.get(pvcPath('fs'));
      return x?.status?.capacity?.storage === '16Mi' ? x : undefined;
    });
    expect(c.status?.conditions ?? []).not.toContainEqual(
      expect.objectContaining({ type: 'Resizing' }),
    );
    const pv = await volumeOf(c);
    expect(pv.spec.capacity).toEqual({ storage: '16Mi' });
    expect(statSync(join(String((pv.spec.local as { path: string }).path), 'disk.img')).size).toBe(
      16 * MiB,
    );
  }, 120_000);

  it('says why it cannot provision a claim, and an instance using it waits Pending naming the claim', async () => {
    await claim('huge', '1Pi');
    const failed = await t.until('ProvisioningFailed', async () => {
      const events = await t.rest.request<{ items: { reason: string; message: string }[] }>(
        'GET',
        `/api/v1/namespaces/${t.ns}/events?fieldSelector=involvedObject.name=huge`,
      );
      return events.body.items.find((e) => e.reason === 'ProvisioningFailed');
    });
    expect(failed.message).toContain(
      `failed to provision volume with StorageClass "${classOf('now')}"`,
    );
    expect(failed.message).toContain('over its disk budget');
    expect((await t.get(pvcPath('huge')))?.status?.phase).toBe('Pending');
    await t.rest.create(
      kubevirtVm(
        t.ns,
        'waiter',
        {},
        { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'huge' } }] },
        { devices: { disks: [{ name: 'd', disk: { bus: 'virtio' } }] } },
      ) as never,
    );
    const vmi = await t.until('the instance waiting for its claim', async () => {
      const x = await t.get(t.vmiPath('waiter'));
      return x?.status?.conditions?.some((c: { type: string }) => c.type === 'PodScheduled')
        ? x
        : undefined;
    });
    expect(vmi.status?.phase).toBe('Pending');
    expect(vmi.status?.conditions).toContainEqual(
      expect.objectContaining({
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: `0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims (claim ${t.ns}/huge is Pending)`,
      }),
    );
    await t.rest.request('DELETE', t.vmPath('waiter'));
    await t.rest.request('DELETE', pvcPath('huge'));
    await t.until('the waiting VM gone', async () => !(await t.get(t.vmPath('waiter'))));
  }, 120_000);

  it('deletes the volume and its file with the claim', async () => {
    const pv = await volumeOf((await t.get(pvcPath('fs'))) as Obj);
    const folder = join(t.stateDir, 'volumes', pv.metadata.name ?? '');
    expect(existsSync(folder)).toBe(true);
    await t.rest.request('DELETE', pvcPath('fs'));
    await t.until('the PV gone', async () => !(await t.get(pvPath(pv.metadata.name ?? ''))));
    expect(existsSync(folder)).toBe(false);
  }, 120_000);
});

describe('claims used by a guest', () => {
  const vmiName = 'user';
  it('waits for its first consumer: Pending and unprovisioned until an instance uses it, then bound', async () => {
    // A blank disk the engine boots with the tiny Linux's kernel (as a clone of its image would).
    await claim('root', '8Mi', {
      kind: 'later',
      annotations: { 'local-engine.vmplane.io/kernel-from': 'tiny-linux' },
    });
    await sleep(3_000);
    const waiting = await t.get(pvcPath('root'));
    expect(waiting?.status?.phase).toBe('Pending');
    expect(waiting?.spec.volumeName).toBeUndefined();
    await t.rest.create(
      kubevirtVm(
        t.ns,
        vmiName,
        {},
        { volumes: [{ name: 'root', persistentVolumeClaim: { claimName: 'root' } }] },
        { devices: { disks: [{ name: 'root', disk: { bus: 'virtio' } }] } },
      ) as never,
    );
    await t.until('the instance Running', async () => {
      const x = await t.get(t.vmiPath(vmiName));
      return x?.status?.phase === 'Running';
    });
    const c = await bound('root');
    expect(
      (c.metadata as { annotations?: Record<string, string> }).annotations?.[
        'volume.kubernetes.io/selected-node'
      ],
    ).toBe(NODE);
    // The guest sees the volume's file as its disk: 8 MiB in 512-byte sectors.
    const guest = t.engine.running.get(`${t.ns}/${vmiName}`);
    if (!guest) throw new Error('no QEMU process for the instance');
    await guest.serial.waitFor(TINY_PROMPT, 90_000);
    const from = guest.serial.output.length;
    guest.serial.type('echo vda=$(cat /sys/block/vda/size)\n');
    await guest.serial.waitFor('vda=16384', 30_000, from);
  }, 240_000);

  it('has the launcher Pod KubeVirt would run, Running on this node with the claim', async () => {
    const vmi = (await t.get(t.vmiPath(vmiName))) as Obj;
    const pods = await t.rest.request<{ items: Obj[] }>(
      'GET',
      `/api/v1/namespaces/${t.ns}/pods?labelSelector=kubevirt.io%3Dvirt-launcher`,
    );
    expect(pods.body.items).toHaveLength(1);
    const pod = pods.body.items[0] as Obj;
    expect(pod.metadata.name).toMatch(new RegExp(`^virt-launcher-${vmiName}-[a-z0-9]{5}$`));
    expect(pod).toMatchObject({
      metadata: {
        labels: { 'kubevirt.io/created-by': vmi.metadata.uid, 'vm.kubevirt.io/name': vmiName },
        ownerReferences: [
          { kind: 'VirtualMachineInstance', uid: vmi.metadata.uid, controller: true },
        ],
      },
      spec: {
        nodeName: NODE,
        volumes: [{ name: 'root', persistentVolumeClaim: { claimName: 'root' } }],
      },
      status: {
        phase: 'Running',
        containerStatuses: [{ name: 'compute', ready: true, state: { running: {} } }],
      },
    });
    // The node it is bound to is registered and Ready (the engine's heartbeat).
    const node = (await t.get(`/api/v1/nodes/${NODE}`)) as Obj;
    expect(node.metadata).toMatchObject({ labels: { 'kubernetes.io/hostname': NODE } });
    expect(node.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'Ready', status: 'True' }),
    );
  });

  it('keeps pvc-protection on a claim in use while the guest runs, and lets go once it stops', async () => {
    const c = (await t.get(pvcPath('root'))) as Obj;
    const pv = c.spec.volumeName as string;
    await t.rest.request('DELETE', pvcPath('root'));
    await sleep(3_000);
    const held = (await t.get(pvcPath('root'))) as Obj & {
      metadata: { deletionTimestamp?: string; finalizers?: string[] };
    };
    expect(held.metadata.deletionTimestamp).toBeTruthy();
    expect(held.metadata.finalizers).toContain('kubernetes.io/pvc-protection');
    expect(existsSync(join(t.stateDir, 'volumes', pv))).toBe(true);
    await t.engine.stop(t.ns, vmiName, { gracePeriod: 0 });
    await t.until('the instance gone', async () => !(await t.get(t.vmiPath(vmiName))));
    await t.until('the claim gone', async () => !(await t.get(pvcPath('root'))));
    await t.until('the PV gone', async () => !(await t.get(pvPath(pv))));
    expect(existsSync(join(t.stateDir, 'volumes', pv))).toBe(false);
    const pods = await t.rest.request<{ items: Obj[] }>(
      'GET',
      `/api/v1/namespaces/${t.ns}/pods?labelSelector=kubevirt.io%3Dvirt-launcher`,
    );
    expect(pods.body.items).toEqual([]);
  }, 180_000);
});
