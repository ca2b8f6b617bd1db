// `kubectl vm` against the real API server with vmplane running (webhooks, policies, controllers).
// The test plays KubeVirt by writing the engine's status where the API server cannot.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kvm } from '../support/kubectl-vm.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { startControllers, type RunningControllers } from '../../controllers/src/main.ts';
import { type RunningWebhooks } from '../../webhooks/src/main.ts';
import { startScopedWebhooks, stopScopedWebhooks } from '../support/webhooks.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { deployKubeVirt, installEngineCrds } from '../support/kubevirt.ts';

const s = `k${randomBytes(3).toString('hex')}`;
const SCOPE = { 'vmplane.io/webhook-scope': s };
const V = API_VERSION;
let ns = '';
let rest: KubeRest;
let webhooks: RunningWebhooks;
let ctl: RunningControllers;
const dir = mkdtempSync(join(tmpdir(), 'vmplane-kvm-'));

const merge = (path: string, body: unknown): Promise<unknown> =>
  rest.request('PATCH', path, { body, contentType: 'application/merge-patch+json' });
const kvPath = (name: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/${name}`;

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  await installEngineCrds(kubeConfig());
  await deployKubeVirt(kubeConfig());
  ns = await createNamespace('kvm', { ...SCOPE, 'kvm-test': s });
  await merge(`/api/v1/namespaces/${ns}`, {
    metadata: { annotations: { 'vmplane.io/default-storage-class': `sc-${s}` } },
  });
  for (const o of [
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: `sc-${s}` },
      provisioner: 'rbd.csi.ceph.com',
    },
    {
      apiVersion: V,
      kind: 'VirtualMachineClass',
      metadata: { name: `small-${s}` },
      spec: { description: 'two vCPUs', hardware: { cpus: 2, memory: '4Gi' } },
    },
    {
      apiVersion: V,
      kind: 'VirtualMachineClass',
      metadata: { name: `big-${s}` },
      spec: { hardware: { cpus: 16, memory: '64Gi' }, reservation: 'Guaranteed' },
    },
    {
      apiVersion: V,
      kind: 'VirtualMachineClass',
      metadata: { name: `gpu-${s}` },
      spec: {
        hardware: { cpus: 8, memory: '32Gi' },
        namespaceSelector: { matchLabels: { 'vmplane.io/workload': 'ml' } },
      },
    },
    {
      apiVersion: V,
      kind: 'ClusterVirtualMachineImage',
      metadata: { name: `img-${s}` },
      spec: {
        source: { http: { url: 'https://x/u.img' } },
        size: '10Gi',
        osInfo: { name: 'ubuntu', version: '24.04' },
      },
    },
    {
      apiVersion: V,
      kind: 'VirtualMachinePolicy',
      metadata: { name: `cap-${s}`, labels: SCOPE },
      spec: {
        match: { namespaceSelector: { matchLabels: { 'kvm-test': s } } },
        validationActions: ['Deny'],
        rules: { maxCPUs: 4 },
      },
    },
    {
      apiVersion: V,
      kind: 'VirtualMachinePolicy',
      metadata: { name: `owner-${s}`, labels: SCOPE },
      spec: {
        match: { namespaceSelector: { matchLabels: { 'kvm-test': s } } },
        validationActions: ['Warn'],
        rules: { requiredLabels: [{ key: 'owner' }] },
      },
    },
  ]) {
    await rest.create(o as never);
  }
  webhooks = await startScopedWebhooks(s);
  await waitUntil(
    'policies cached',
    async () =>
      webhooks.cache.policies().filter((p) => p.metadata.name?.endsWith(s)).length === 2 ||
      undefined,
  );
  ctl = await startControllers({
    kc: kubeConfig(),
    scope: { namespaces: [ns] },
    logger: pino({ level: 'silent' }),
  });
}, 120_000);

afterAll(async () => {
  await ctl.stop();
  await stopScopedWebhooks(webhooks);
  rest.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('kubectl vm against a real API server', () => {
  it("engine says whether the cluster's KubeVirt runs and whether vmplane is checked with its version", async () => {
    const r = await kvm(['engine']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'available (KubeVirtDeployed): KubeVirt v1.7.0 is deployed (kubevirt/kubevirt)\nvmplane is checked with KubeVirt v1.7; this cluster runs v1.7.0, which is supported\n',
    );
  });

  it('create prints a policy denial unchanged', async () => {
    const r = await kvm([
      'create',
      'huge',
      '-n',
      ns,
      '--class',
      `big-${s}`,
      '--image',
      `img-${s}`,
      '--label',
      'owner=me',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `admission webhook "vm.validate.vmplane.io.${s}" denied the request: policy "cap-${s}" rule maxCPUs: 16 vCPUs (class "big-${s}") exceed the maximum of 4`,
    );
  });

  it('create --dry-run=server shows warnings and creates nothing', async () => {
    const r = await kvm([
      'create',
      'web',
      '-n',
      ns,
      '--class',
      `small-${s}`,
      '--image',
      `img-${s}`,
      '--disk',
      'size=5Gi,name=data',
      '--dry-run=server',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `Warning: policy "owner-${s}" rule requiredLabels: label owner is required`,
    );
    expect(r.stdout).toBe('virtualmachine/web created (server dry run)\n');
    const g = await kvm(['get', 'web', '-n', ns]);
    expect(g.code).toBe(1);
    expect(g.stderr).toBe(`error: virtualmachine "web" not found in namespace "${ns}"\n`);
  });

  it('create, then list and get in every format', async () => {
    const c = await kvm([
      'create',
      'web',
      '-n',
      ns,
      '--class',
      `small-${s}`,
      '--image',
      `img-${s}`,
      '--label',
      'owner=team-a',
      '-o',
      'yaml',
    ]);
    expect(c.code).toBe(0);
    const admitted = parse(c.stdout) as {
      spec: { bootDisk: { storageClassName: string; volumeMode: string }; powerState: string };
    };
    expect(admitted.spec.bootDisk).toMatchObject({
      storageClassName: `sc-${s}`,
      volumeMode: 'Block',
    });
    const l = await kvm(['list', '-n', ns]);
    expect(l.stdout.split('\n')[0]?.split(/\s+/)).toEqual([
      'NAME',
      'STATUS',
      'CLASS',
      'IMAGE',
      'IP',
      'NODE',
      'AGE',
    ]);
    expect(l.stdout).toMatch(new RegExp(`^web\\s+\\S+\\s+small-${s}\\s+img-${s}`, 'm'));
    const j = JSON.parse((await kvm(['get', 'web', '-n', ns, '-o', 'json'])).stdout) as {
      metadata: { name: string };
    };
    expect(j.metadata.name).toBe('web');
    const all = await kvm(['list', '-A', '-o', 'wide']);
    expect(all.stdout.split('\n')[0]).toMatch(
      /^NAMESPACE\s+NAME\s+STATUS\s+CLASS\s+IMAGE\s+IP\s+NODE\s+POWER\s+CPUS\s+MEMORY\s+ZONE\s+ACTIONS\s+OS\s+AGE/,
    );
    expect(all.stdout).toContain(ns);
  });

  it('stop --wait returns once the engine reports the VM stopped', async () => {
    await waitUntil(
      'the engine VM',
      async () =>
        (
          await rest
            .request<{ spec: { runStrategy: string } }>('GET', kvPath('web'))
            .catch(() => undefined)
        )?.body,
    );
    const stopping = kvm(['stop', 'web', '-n', ns, '--wait', '--timeout', '60s']);
    // Play KubeVirt: once the controller asks for Halted, report the VM stopped.
    await waitUntil(
      'runStrategy Halted',
      async () =>
        (await rest.request<{ spec: { runStrategy: string } }>('GET', kvPath('web'))).body.spec
          .runStrategy === 'Halted' || undefined,
    );
    await merge(`${kvPath('web')}/status`, {
      status: { printableStatus: 'Stopped', ready: false },
    });
    const r = await stopping;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('virtualmachine/web stopped\nvirtualmachine/web is Stopped\n');
  });

  it('start --wait gives up after --timeout, saying what the VM is doing', async () => {
    const r = await kvm(['start', 'web', '-n', ns, '--wait', '--timeout', '3s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: timed out after 3s waiting for virtualmachine\/web to be started; it is Stopped/,
    );
    const again = await kvm(['start', 'web', '-n', ns]);
    expect(again.stdout).toBe('virtualmachine/web is already PoweredOn\n');
  });

  it("restart explains when KubeVirt's subresource API is missing", async () => {
    await merge(`${kvPath('web')}/status`, { status: { printableStatus: 'Running', ready: true } });
    await waitUntil(
      'Running',
      async () =>
        (
          await rest.request<{ status?: { printableStatus?: string } }>(
            'GET',
            `/apis/${V}/namespaces/${ns}/virtualmachines/web`,
          )
        ).body.status?.printableStatus === 'Running' || undefined,
    );
    const r = await kvm(['restart', 'web', '-n', ns]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "KubeVirt's subresource API (subresources.kubevirt.io) is not served in this cluster",
    );
    const p = await kvm(['pause', 'web', '-n', ns]);
    expect(p.stdout).toBe('virtualmachine/web paused (requested)\n');
    const res = await kvm(['resume', 'web', '-n', ns]);
    expect(res.stdout).toBe('virtualmachine/web resumed (requested)\n');
  });

  it('console refuses a VM that is not running, saying how to start it', async () => {
    await kvm([
      'create',
      'idle',
      '-n',
      ns,
      '--class',
      `small-${s}`,
      '--image',
      `img-${s}`,
      '--label',
      'owner=x',
      '--powered-off',
    ]);
    const r = await kvm(['console', 'idle', '-n', ns]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: virtualmachine/idle is not running');
    expect(r.stderr).toContain('start it with: kubectl vm start idle --wait');
  });

  it('classes and images list what the namespace may use', async () => {
    const c = await kvm(['classes', '-n', ns]);
    expect(c.stdout).toMatch(new RegExp(`^small-${s}\\s+2\\s+4Gi\\s+BestEffort\\s+two vCPUs`, 'm'));
    expect(c.stdout).not.toContain(`gpu-${s}`);
    const i = await kvm(['images', '-n', ns]);
    expect(i.stdout).toMatch(
      new RegExp(`^img-${s}\\s+ClusterVirtualMachineImage\\s+ubuntu\\s+24.04\\s+10Gi`, 'm'),
    );
  });

  it('says which permission is missing, for whom and where', async () => {
    await rest.create({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'jane', namespace: ns },
    });
    await rest.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'vm-reader', namespace: ns },
      rules: [
        { apiGroups: ['vmplane.io'], resources: ['virtualmachines'], verbs: ['get', 'list'] },
      ],
    } as never);
    await rest.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'jane-reads', namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'vm-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'jane', namespace: ns }],
    } as never);
    const token = (
      await rest.request<{ status: { token: string } }>(
        'POST',
        `/api/v1/namespaces/${ns}/serviceaccounts/jane/token`,
        {
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenRequest',
            spec: { expirationSeconds: 3600 },
          },
        },
      )
    ).body.status.token;
    const admin = parse(readFileSync(inject('kubeconfig'), 'utf8')) as { clusters: unknown[] };
    const janeConfig = join(dir, 'jane.kubeconfig');
    writeFileSync(
      janeConfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: admin.clusters,
        users: [{ name: 'jane', user: { token } }],
        contexts: [{ name: 'jane', context: { cluster: 'vmplane', user: 'jane', namespace: ns } }],
        'current-context': 'jane',
      }),
    );
    const ok = await kvm(['get', 'web'], janeConfig);
    expect(ok.code).toBe(0);
    const r = await kvm(['stop', 'web'], janeConfig);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `error: forbidden: user "system:serviceaccount:${ns}:jane" may not patch virtualmachines in namespace "${ns}"; ask an administrator for a Role granting "patch" on virtualmachines`,
    );
  });
});
