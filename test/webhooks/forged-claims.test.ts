// AdmissionReviews posted straight to the webhook server by someone who is not the API server
// (possible where the webhooks accept callers without a client certificate: managed control
// planes, where only the NetworkPolicy keeps others out). Their side effect, the disk claim, must
// not lock a disk for a VM the API server does not have: after a burst of forged reviews, a real
// VM that attaches the disk is admitted through kube-apiserver.
import { randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import type { RunningWebhooks } from '../../webhooks/src/main.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { startScopedWebhooks, stopScopedWebhooks } from '../support/webhooks.ts';

const scope = `g${randomBytes(3).toString('hex')}`;
const SCOPE_LABEL = { 'vmplane.io/webhook-scope': scope };
const V = API_VERSION;
let ns = '';
let rest: KubeRest;
let webhooks: RunningWebhooks;

const diskNamed = (name: string): KubeObjectLike => ({
  apiVersion: V,
  kind: 'VirtualMachineDisk',
  metadata: { name, namespace: ns },
  spec: {
    size: '1Gi',
    storageClassName: `forged-${scope}`,
    accessModes: ['ReadWriteOnce'],
    volumeMode: 'Filesystem',
  },
});

const vmUsing = (name: string, disk: string, uid?: string): KubeObjectLike & { spec: object } => ({
  apiVersion: V,
  kind: 'VirtualMachine',
  metadata: { name, namespace: ns, ...(uid ? { uid } : {}) },
  spec: {
    className: `small-${scope}`,
    powerState: 'PoweredOff',
    disks: [{ name: 'root', virtualMachineDiskName: disk, boot: true }],
  },
});

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ns = await createNamespace('forged', SCOPE_LABEL);
  for (const f of [
    {
      apiVersion: V,
      kind: 'VirtualMachineClass',
      metadata: { name: `small-${scope}`, labels: SCOPE_LABEL },
      spec: { hardware: { cpus: 1, memory: '1Gi' } },
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: `forged-${scope}` },
      provisioner: 'rbd.csi.ceph.com',
    },
  ] as KubeObjectLike[])
    await rest.create(f);
  for (const d of ['locked', 'updated']) await rest.create(diskNamed(d));
  // As on a managed control plane: no client certificate asked for, any caller is answered.
  webhooks = await startScopedWebhooks(scope, { clientAuth: 'none' });
  await waitUntil('the webhook cache to see the disks and class', async () =>
    Boolean(
      webhooks.cache.disk(ns, 'locked') &&
      webhooks.cache.disk(ns, 'updated') &&
      webhooks.cache.vmClass(`small-${scope}`),
    ),
  );
}, 120_000);

afterAll(async () => {
  await stopScopedWebhooks(webhooks);
  await rest?.request('DELETE', `/apis/storage.k8s.io/v1/storageclasses/forged-${scope}`);
  rest?.close();
});

/** Posts a review straight to the webhook, as any pod could: no client certificate. */
function postReview(path: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port: webhooks.port,
        path,
        method: 'POST',
        rejectUnauthorized: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const forged = (
  operation: 'CREATE' | 'UPDATE',
  vm: KubeObjectLike,
  oldObject?: KubeObjectLike,
): unknown => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: randomUUID(),
    kind: { group: 'vmplane.io', version: 'v1alpha1', kind: 'VirtualMachine' },
    resource: { group: 'vmplane.io', version: 'v1alpha1', resource: 'virtualmachines' },
    operation,
    namespace: ns,
    name: vm.metadata.name,
    userInfo: { username: 'system:admin' },
    object: vm,
    ...(oldObject ? { oldObject } : {}),
  },
});

async function claimOn(disk: string): Promise<string | undefined> {
  const d = await rest.get<{ metadata: { annotations?: Record<string, string> } }>(diskNamed(disk));
  return d.metadata.annotations?.['vmplane.io/attached-to'];
}

describe('forged admission reviews', () => {
  it('an UPDATE of a VM the API server does not have claims nothing', async () => {
    const ghost = vmUsing('phantom', 'updated', randomUUID());
    const before = { ...ghost, spec: { ...ghost.spec, disks: [] } };
    await postReview('/validate', forged('UPDATE', ghost, before));
    expect(await claimOn('updated')).toBeUndefined();
  });

  it('a burst of CREATEs for VMs that never come does not keep a real VM from the disk', async () => {
    // All at once, as a flood would come: each waits for the claim before it, and takes the disk
    // if that claim's VM never appears.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        postReview('/validate', forged('CREATE', vmUsing(`ghost-${i}`, 'locked', randomUUID()))),
      ),
    );
    // The real VM, right after the last forged review, through the API server.
    const real = await rest.create<{ metadata: { uid: string } }>(vmUsing('real', 'locked'));
    expect(JSON.parse((await claimOn('locked')) ?? '{}')).toMatchObject({
      vm: 'real',
      uid: real.metadata.uid,
    });
  }, 30_000);
});
