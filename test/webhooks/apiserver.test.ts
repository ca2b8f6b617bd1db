// The webhooks as kubectl users meet them: registered in the real kube-apiserver, called by it.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { type RunningWebhooks } from '../../webhooks/src/main.ts';
import { startScopedWebhooks, stopScopedWebhooks } from '../support/webhooks.ts';
import { createNamespace, kubeConfig, kubectl } from '../support/cluster.ts';
import { Finalizers } from '../../api/src/wellknown.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { vm as buildVm } from '../support/builders.ts';

const scope = `s${randomBytes(3).toString('hex')}`;
const SCOPE_LABEL = { 'vmplane.io/webhook-scope': scope };
const V = API_VERSION;
const small = `small-${scope}`;
const gpu = `gpu-${scope}`;
const image = `ubuntu-${scope}`;
const virtClass = `virt-${scope}`;
const mystery = `mystery-${scope}`;
let ns = '';
let rest: KubeRest;
let webhooks: RunningWebhooks;

const yaml = (o: unknown): string => JSON.stringify(o);

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ns = await createNamespace('wh', SCOPE_LABEL);
  const fixtures: KubeObjectLike[] = [
    {
      apiVersion: V,
      kind: 'VirtualMachineClass',
      metadata: { name: small, labels: SCOPE_LABEL },
      spec: { hardware: { cpus: 2, memory: '4Gi' } },
    },
    {
      apiVersion: V,
      kind: 'VirtualMachineClass',
      metadata: { name: gpu, labels: SCOPE_LABEL },
      spec: {
        hardware: { cpus: 8, memory: '32Gi' },
        namespaceSelector: { matchLabels: { 'vmplane.io/workload': 'ml' } },
      },
    },
    {
      apiVersion: V,
      kind: 'ClusterVirtualMachineImage',
      metadata: { name: image, labels: SCOPE_LABEL },
      spec: { source: { http: { url: 'https://example.com/u.img' } }, size: '8Gi' },
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: virtClass,
        annotations: { 'storageclass.kubevirt.io/is-default-virt-class': 'true' },
      },
      provisioner: 'rbd.csi.ceph.com',
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: mystery },
      provisioner: 'mystery.csi.example.com',
    },
  ];
  for (const f of fixtures) await rest.create(f);
  webhooks = await startScopedWebhooks(scope);
  await waitUntil(
    'webhook cache to see the fixtures',
    async () =>
      webhooks.cache.vmClass(gpu) &&
      webhooks.cache.storageClasses().some((s) => s.metadata?.name === mystery),
  );
}, 120_000);

afterAll(async () => {
  await stopScopedWebhooks(webhooks);
  rest.close();
});

const vm = (name: string, className: string): object =>
  buildVm(name, { className, image: { name: image } }, { namespace: ns });

describe('through kube-apiserver', () => {
  it('denies kubectl apply of a VM whose class is not available in its namespace, saying which are', async () => {
    const r = await kubectl(['apply', '-f', '-'], yaml(vm('gpu-vm', gpu)));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('admission webhook "vm.validate.vmplane.io');
    expect(r.stderr).toContain(
      `spec.className: class "${gpu}" is not available in namespace "${ns}"; available: `,
    );
    expect(r.stderr).toMatch(new RegExp(`available: [^;"]*${small}`));
    expect(r.stderr).not.toMatch(new RegExp(`available: [^;"]*${gpu}`));
  });

  it('admits a VM and fills in what users would get wrong, read back from the API', async () => {
    const r = await kubectl(['apply', '-f', '-'], yaml(vm('web', small)));
    expect(r.stderr).toBe('');
    const got = await rest.get<{
      metadata: { labels: Record<string, string>; finalizers?: string[] };
      spec: Record<string, unknown>;
    }>({
      apiVersion: V,
      kind: 'VirtualMachine',
      metadata: { name: 'web', namespace: ns },
    });
    // The cleanup finalizer comes with the create, so the controller need not write it.
    expect(got.metadata.finalizers).toEqual([Finalizers.vmCleanup]);
    expect(got.spec).toMatchObject({
      powerState: 'PoweredOn',
      image: { kind: 'ClusterVirtualMachineImage', name: image },
      bootDisk: {
        size: '8Gi',
        storageClassName: virtClass,
        accessModes: ['ReadWriteMany'],
        volumeMode: 'Block',
      },
    });
    expect(got.metadata.labels).toMatchObject({
      'vmplane.io/class': small,
      'vmplane.io/image': image,
    });
  });

  it('gives a disk with no storage class the VM default class and its StorageProfile modes', async () => {
    const r = await kubectl(
      ['apply', '-f', '-'],
      yaml({
        apiVersion: V,
        kind: 'VirtualMachineDisk',
        metadata: { name: 'data', namespace: ns },
        spec: { size: '20Gi' },
      }),
    );
    expect(r.stderr).toBe('');
    const got = await rest.get<{ spec: Record<string, unknown> }>({
      apiVersion: V,
      kind: 'VirtualMachineDisk',
      metadata: { name: 'data', namespace: ns },
    });
    expect(got.spec).toEqual({
      size: '20Gi',
      storageClassName: virtClass,
      accessModes: ['ReadWriteMany'],
      volumeMode: 'Block',
    });
  });

  it('denies a disk whose StorageProfile knows no modes, naming the profile and the field', async () => {
    const r = await kubectl(
      ['apply', '-f', '-'],
      yaml({
        apiVersion: V,
        kind: 'VirtualMachineDisk',
        metadata: { name: 'odd', namespace: ns },
        spec: { size: '1Gi', storageClassName: mystery },
      }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `spec.volumeMode: StorageClass "${mystery}" (provisioner mystery.csi.example.com) has no known access and volume modes`,
    );
    expect(r.stderr).toContain(`set spec.claimPropertySets on StorageProfile "${mystery}"`);
    expect(r.stderr).toContain('or set both spec.accessModes and spec.volumeMode on this disk');
  });

  it('follows the StorageProfile once an administrator sets it', async () => {
    await rest.apply({
      apiVersion: V,
      kind: 'StorageProfile',
      metadata: { name: mystery, labels: SCOPE_LABEL },
      spec: { claimPropertySets: [{ accessModes: ['ReadWriteOnce'], volumeMode: 'Block' }] },
    });
    await waitUntil('cache to see the profile', async () => webhooks.cache.storageProfile(mystery));
    const r = await kubectl(
      ['apply', '-f', '-'],
      yaml({
        apiVersion: V,
        kind: 'VirtualMachineDisk',
        metadata: { name: 'odd', namespace: ns },
        spec: { size: '1Gi', storageClassName: mystery },
      }),
    );
    expect(r.stderr).toBe('');
    const got = await rest.get<{ spec: Record<string, unknown> }>({
      apiVersion: V,
      kind: 'VirtualMachineDisk',
      metadata: { name: 'odd', namespace: ns },
    });
    expect(got.spec).toMatchObject({ accessModes: ['ReadWriteOnce'], volumeMode: 'Block' });
  });

  it('shows the same results with --dry-run=server and changes nothing', async () => {
    const denied = await kubectl(
      ['apply', '--dry-run=server', '-f', '-'],
      yaml(vm('gpu-dry', gpu)),
    );
    expect(denied.stderr).toContain(`class "${gpu}" is not available in namespace "${ns}"`);
    const dry = await kubectl(
      ['apply', '--dry-run=server', '-o', 'json', '-f', '-'],
      yaml({
        apiVersion: V,
        kind: 'VirtualMachineDisk',
        metadata: { name: 'dry', namespace: ns },
        spec: { size: '2Gi' },
      }),
    );
    expect(dry.stderr).toBe('');
    expect((JSON.parse(dry.stdout) as { spec: Record<string, unknown> }).spec).toEqual({
      size: '2Gi',
      storageClassName: virtClass,
      accessModes: ['ReadWriteMany'],
      volumeMode: 'Block',
    });
    const after = await kubectl(['get', 'vmdisk', 'dry', '-n', ns]);
    expect(after.stderr).toContain('NotFound');
  });

  it('warns that a class change on a running VM waits for the next power cycle', async () => {
    const r = await kubectl([
      'patch',
      'vmpvm',
      'web',
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      JSON.stringify({ spec: { className: small } }),
    ]);
    expect(r.code).toBe(0); // same class: no warning
    expect(r.stderr).toBe('');
    await rest.create({
      apiVersion: V,
      kind: 'VirtualMachineClass',
      metadata: { name: `${small}-b`, labels: SCOPE_LABEL },
      spec: { hardware: { cpus: 4, memory: '8Gi' } },
    });
    await waitUntil('cache to see the class', async () => webhooks.cache.vmClass(`${small}-b`));
    const w = await kubectl([
      'patch',
      'vmpvm',
      'web',
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      JSON.stringify({ spec: { className: `${small}-b` } }),
    ]);
    expect(w.code).toBe(0);
    expect(w.stderr).toContain(
      `Warning: spec.className: changing the class of a running VM from "${small}" to "${small}-b" takes effect at its next power cycle`,
    );
  });

  it('refuses to delete a class still in use, counting the VMs without naming them', async () => {
    const r = await kubectl(['delete', 'vmclass', `${small}-b`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `VirtualMachineClass "${small}-b" is still used by 1 VM or disk in 1 namespace (not named here`,
    );
    expect(r.stderr).not.toContain(ns);
  });

  it('refuses a VM booting from a disk attached to another VM', async () => {
    const first = {
      apiVersion: V,
      kind: 'VirtualMachine',
      metadata: { name: 'db-1', namespace: ns },
      spec: {
        className: small,
        disks: [{ name: 'root', virtualMachineDiskName: 'data', boot: true }],
      },
    };
    expect((await kubectl(['apply', '-f', '-'], yaml(first))).stderr).toBe('');
    await waitUntil('cache to see db-1', async () =>
      webhooks.cache.vms(ns).some((v) => v.metadata.name === 'db-1'),
    );
    const second = { ...first, metadata: { name: 'db-2', namespace: ns } };
    const r = await kubectl(['apply', '-f', '-'], yaml(second));
    expect(r.stderr).toContain(
      'spec.disks[0].virtualMachineDiskName: VirtualMachineDisk "data" is already attached to VM "db-1"',
    );
  });

  it('admits a disk and the VM using it from one kubectl apply, and claims the disk for that VM', async () => {
    const disk = {
      apiVersion: V,
      kind: 'VirtualMachineDisk',
      metadata: { name: 'fresh', namespace: ns },
      spec: { size: '1Gi' },
    };
    const user = {
      apiVersion: V,
      kind: 'VirtualMachine',
      metadata: { name: 'fresh-user', namespace: ns },
      spec: {
        className: small,
        disks: [{ name: 'root', virtualMachineDiskName: 'fresh', boot: true }],
      },
    };
    const dry = await kubectl(
      ['apply', '--dry-run=server', '-f', '-'],
      yaml({ apiVersion: 'v1', kind: 'List', items: [disk] }),
    );
    expect(dry.stderr).toBe('');
    const r = await kubectl(
      ['apply', '-f', '-'],
      yaml({ apiVersion: 'v1', kind: 'List', items: [disk, user] }),
    );
    expect(r.stderr).toBe('');
    const [got, vmGot] = await Promise.all([
      rest.get<{ metadata: { annotations?: Record<string, string> } }>(disk as KubeObjectLike),
      rest.get<{ metadata: { uid: string } }>(user as KubeObjectLike),
    ]);
    expect(JSON.parse(got.metadata.annotations?.['vmplane.io/attached-to'] ?? '{}')).toMatchObject({
      vm: 'fresh-user',
      uid: vmGot.metadata.uid,
    });
  });

  it('a server-side dry run of a VM checks the claim but writes none', async () => {
    await rest.create({
      apiVersion: V,
      kind: 'VirtualMachineDisk',
      metadata: { name: 'spare', namespace: ns },
      spec: { size: '1Gi' },
    });
    const probe = {
      apiVersion: V,
      kind: 'VirtualMachine',
      metadata: { name: 'probe', namespace: ns },
      spec: {
        className: small,
        disks: [{ name: 'root', virtualMachineDiskName: 'spare', boot: true }],
      },
    };
    expect((await kubectl(['apply', '--dry-run=server', '-f', '-'], yaml(probe))).stderr).toBe('');
    const got = await rest.get<{ metadata: { annotations?: Record<string, string> } }>({
      apiVersion: V,
      kind: 'VirtualMachineDisk',
      metadata: { name: 'spare', namespace: ns },
    });
    expect(got.metadata.annotations?.['vmplane.io/attached-to']).toBeUndefined();
  });
});
