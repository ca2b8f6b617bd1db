// A VirtualMachineDisk that a VM still names in spec.disks cannot be deleted: kube-apiserver calls
// the in-use webhook on the DELETE, and the refusal names the VM (same namespace, so naming is
// fine). Once the VM no longer names the disk, the deletion goes through. Without the DELETE rule
// for virtualmachinedisks in the registration, the first deletion succeeds and this test fails.
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import {
  startWebhooks,
  unregisterWebhooks,
  type RunningWebhooks,
} from '../../webhooks/src/main.ts';
import { createNamespace, kubeConfig, kubectl } from '../support/cluster.ts';

const V = API_VERSION;
const scope = `k${randomBytes(3).toString('hex')}`;
const SCOPE_LABEL = { 'vmplane.io/webhook-scope': scope };
const storageClass = `sc-${scope}`;
let ns = '';
let rest: KubeRest;
let webhooks: RunningWebhooks | undefined;
let configNames = { mutating: '', validating: '' };

const vmPath = (name: string): string => `/apis/${V}/namespaces/${ns}/virtualmachines/${name}`;
const diskPath = (name: string): string =>
  `/apis/${V}/namespaces/${ns}/virtualmachinedisks/${name}`;

/** A powered-off VM with an inline boot disk and, when given, the VirtualMachineDisk `data`. */
function vm(name: string, dataDisk?: string): KubeObjectLike {
  return {
    apiVersion: V,
    kind: 'VirtualMachine',
    metadata: { name, namespace: ns },
    spec: {
      className: `small-${scope}`,
      powerState: 'PoweredOff',
      disks: [
        { name: 'root', size: '1Gi', boot: true, storageClassName: storageClass },
        ...(dataDisk ? [{ name: 'data', virtualMachineDiskName: dataDisk }] : []),
      ],
    },
  } as KubeObjectLike;
}

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ns = await createNamespace('diskdel', SCOPE_LABEL);
  await rest.create({
    apiVersion: V,
    kind: 'VirtualMachineClass',
    metadata: { name: `small-${scope}`, labels: SCOPE_LABEL },
    spec: { hardware: { cpus: 1, memory: '1Gi' } },
  } as KubeObjectLike);
  await rest.create({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: storageClass },
    provisioner: 'rbd.csi.ceph.com',
  } as KubeObjectLike);
  webhooks = await startWebhooks({
    kc: kubeConfig(),
    namespace: `vmplane-${scope}`,
    register: { endpoint: 'self', scope },
    logger: pino({ level: 'silent' }),
  });
  configNames = webhooks.configNames;
  // The in-use webhook selects objects by the scope label (tests share one API server).
  await rest.create({
    apiVersion: V,
    kind: 'VirtualMachineDisk',
    metadata: { name: 'data', namespace: ns, labels: SCOPE_LABEL },
    spec: { size: '1Gi', storageClassName: storageClass },
  } as KubeObjectLike);
  await rest.create(vm('db-1', 'data'));
}, 60_000);

afterAll(async () => {
  await webhooks?.stop();
  await unregisterWebhooks(kubeConfig(), configNames);
  await rest.request('DELETE', vmPath('db-1')).catch(() => undefined);
  await rest
    .request('DELETE', `/apis/${V}/virtualmachineclasses/small-${scope}`)
    .catch(() => undefined);
  await rest
    .request('DELETE', `/apis/storage.k8s.io/v1/storageclasses/${storageClass}`)
    .catch(() => undefined);
  rest.close();
});

describe('deleting a VirtualMachineDisk', () => {
  it('is refused while a VM names it, and the refusal names the VM', async () => {
    // The webhook reads VMs from its cache: wait until it has seen db-1 (a dry-run delete asks it).
    await waitUntil(
      'the webhook sees db-1',
      async () =>
        (await kubectl(['delete', 'vmdisk', 'data', '-n', ns, '--dry-run=server'])).code !== 0,
      15_000,
      100,
    );
    const r = await kubectl(['delete', 'vmdisk', 'data', '-n', ns]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `Error from server (Conflict): admission webhook "inuse.validate.vmplane.io.${scope}" denied the request: VirtualMachineDisk "data" is still attached to VM "db-1": remove it from the VM's spec.disks (or delete the VM) first\n`,
    );
    const { body } = await rest.request<{ metadata: { deletionTimestamp?: string } }>(
      'GET',
      diskPath('data'),
    );
    expect(body.metadata.deletionTimestamp).toBeUndefined();
  });

  it('goes through once the VM no longer names it', async () => {
    await rest.request('PATCH', vmPath('db-1'), {
      body: [
        { op: 'test', path: '/spec/disks/1/virtualMachineDiskName', value: 'data' },
        { op: 'remove', path: '/spec/disks/1' },
      ],
      contentType: 'application/json-patch+json',
    });
    let r = { code: 1, stdout: '', stderr: '' };
    await waitUntil(
      'the webhook sees db-1 without the disk',
      async () => {
        r = await kubectl(['delete', 'vmdisk', 'data', '-n', ns, '--wait=false']);
        return r.code === 0;
      },
      15_000,
      100,
    );
    expect(r.stdout).toMatch(/^virtualmachinedisk\.vmplane\.io "data" deleted/);
    expect(await rest.request('GET', diskPath('data')).catch((e: unknown) => e)).toMatchObject({
      code: 404,
    });
  });

  it('is refused while a disk cloned from it is being filled, naming the clone', async () => {
    const make = (name: string, source?: object): KubeObjectLike =>
      ({
        apiVersion: V,
        kind: 'VirtualMachineDisk',
        metadata: { name, namespace: ns, labels: SCOPE_LABEL },
        spec: { size: '1Gi', storageClassName: storageClass, ...(source ? { source } : {}) },
      }) as KubeObjectLike;
    await rest.create(make('golden'));
    // Admission checks the source: it must exist (and be no bigger).
    const missing = await kubectl(
      ['create', '-f', '-'],
      JSON.stringify(make('orphan', { disk: { name: 'nowhere' } })),
    );
    expect(missing.stderr).toContain(
      `spec.source.disk.name: VirtualMachineDisk "nowhere" does not exist in namespace "${ns}"`,
    );
    await rest.create(make('copy', { disk: { name: 'golden' } }));
    let r = { code: 0, stdout: '', stderr: '' };
    await waitUntil(
      'the webhook sees the clone',
      async () => {
        r = await kubectl(['delete', 'vmdisk', 'golden', '-n', ns, '--dry-run=server']);
        return r.code !== 0;
      },
      15_000,
      100,
    );
    expect(r.stderr).toContain(
      'VirtualMachineDisk "golden" is being cloned by disk "copy" (Pending): wait until the clone is Ready, or delete it first',
    );
    expect((await kubectl(['delete', 'vmdisk', 'copy', '-n', ns, '--wait=false'])).code).toBe(0);
    await waitUntil(
      'golden deleted once no clone reads it',
      async () =>
        (await kubectl(['delete', 'vmdisk', 'golden', '-n', ns, '--wait=false'])).code === 0,
      15_000,
      100,
    );
  });
});
