// The Helm chart against a private control plane (it installs cluster-wide webhook configurations
// that would disturb other tests): lint, schema errors, the rendered manifests applied for real,
// least-privilege RBAC checked with `kubectl auth can-i`, and an uninstall that leaves nothing blocking.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../api/src/paths.ts';
import {
  ensureBinaries,
  ensureHelm,
  type Binaries,
} from '../../harness/src/controlplane/binaries.ts';
import { KUBERNETES_VERSION } from '../../kube/src/go-build.ts';
import { ControlPlane } from '../../harness/src/controlplane/controlplane.ts';
import { installCrds, kubeConfigFrom, waitUntil } from '../../kube/src/client.ts';
import { KubeRest, type KubeObjectLike, isNotFound } from '../../kube/src/rest.ts';
import { webhookConfigurations } from '../../webhooks/src/registration.ts';
import { deployKubeVirt, installEngineCrds } from '../support/kubevirt.ts';
import {
  checkNetworkPolicy,
  describeInstalledNetworkPolicy,
  describeMetricsReader,
  describeUserRoles,
  publishApiServerEndpoints,
  type NetworkPolicy,
} from './checks.ts';
import { describeMetricsUnderChartRbac } from './metrics.ts';

const CHART = join(REPO_ROOT, 'charts/vmplane');
const ALL_ON = join(CHART, 'ci/all-on-values.yaml');
let helm = '';
let bins: Binaries;
let cp: ControlPlane;
let kubeconfig = '';
let apiServer = { server: '', caPem: '' };
let rest: KubeRest;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
const run = (cmd: string, args: string[]): Promise<Run> =>
  new Promise((resolve) => {
    execFile(cmd, args, { cwd: REPO_ROOT, maxBuffer: 32 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
const helmRun = (args: string[]): Promise<Run> => run(helm, [...args, '--kubeconfig', kubeconfig]);
// `helm template` cannot read the cluster, so it is told where the API server is.
const KNOWN_API_SERVER = ['--set', 'networkPolicy.apiServerCIDRs={10.0.0.1/32}'];
const template = async (ns: string, extra: string[] = []): Promise<KubeObjectLike[]> => {
  const r = await run(helm, [
    'template',
    'vmplane',
    CHART,
    '-n',
    ns,
    '--kube-version',
    KUBERNETES_VERSION,
    ...KNOWN_API_SERVER,
    ...extra,
  ]);
  expect(r.stderr).toBe('');
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as KubeObjectLike | null)
    .filter((o): o is KubeObjectLike => !!o);
};

beforeAll(async () => {
  [helm, bins] = await Promise.all([ensureHelm(), ensureBinaries()]);
  cp = new ControlPlane({
    binaries: bins,
    tempPrefix: `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'x'}-chart-`,
  });
  const ep = await cp.start();
  kubeconfig = ep.kubeconfigPath;
  apiServer = { server: ep.server, caPem: ep.caPem };
  const kc = kubeConfigFrom(kubeconfig);
  // Stand-ins for the optional features and for KubeVirt/CDI (so `kubectl auth can-i` knows their
  // kinds); the chart's own CRDs come with helm install (below).
  await installCrds(kc, join(REPO_ROOT, 'test/fixtures/optional-crds'));
  await installEngineCrds(kc);
  rest = new KubeRest(kc);
}, 600_000);

afterAll(async () => {
  rest?.close();
  await cp?.stop();
});

async function applyAll(objs: KubeObjectLike[]): Promise<void> {
  for (const o of objs) {
    try {
      await rest.apply(o, { fieldManager: 'chart-test' });
    } catch (e) {
      throw new Error(`${o.kind}/${o.metadata.name}: ${(e as Error).message}`, { cause: e });
    }
  }
}

async function deleteAll(objs: KubeObjectLike[]): Promise<void> {
  // Webhook configurations first, as an operator would.
  const order = [...objs].sort(
    (a, b) => Number(b.kind.includes('Webhook')) - Number(a.kind.includes('Webhook')),
  );
  for (const o of order) {
    try {
      await rest.delete(o);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

describe('the Helm chart', () => {
  it('lints clean with the default values and with every option on', async () => {
    for (const extra of [KNOWN_API_SERVER, ['-f', ALL_ON]]) {
      const r = await run(helm, ['lint', CHART, '--kube-version', KUBERNETES_VERSION, ...extra]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(r.stdout).not.toMatch(/\[(WARNING|ERROR|INFO)\]/);
    }
  });

  it("registers the webhooks exactly as webhooks/src/registration.ts does (the sandbox's settings)", async () => {
    const rendered = (await template('vmplane')).filter((o) =>
      o.kind.endsWith('WebhookConfiguration'),
    );
    const expected = webhookConfigurations({
      endpoint: { service: { namespace: 'vmplane', name: 'vmplane-webhooks', port: 443 } },
      caBundlePem: 'x',
      ownNamespace: 'vmplane',
    });
    const strip = (cfg: Record<string, unknown>): unknown =>
      (cfg.webhooks as Record<string, unknown>[]).map((w) => {
        const {
          clientConfig,
          objectSelector: _objectSelector,
          ...rest
        } = w as { clientConfig: { service: unknown }; objectSelector?: unknown };
        return { ...rest, service: clientConfig.service };
      });
    for (const exp of expected) {
      const got = rendered.find((r) => r.kind === exp.kind);
      expect(strip(got as Record<string, unknown>), String(exp.kind)).toEqual(strip(exp));
    }
  });

  it("refuses bad values at install with the schema's message", async () => {
    const replicas = await run(helm, [
      'template',
      'x',
      CHART,
      '--set',
      'webhooks.replicas=two',
      '--kube-version',
      KUBERNETES_VERSION,
    ]);
    expect(replicas.code).not.toBe(0);
    expect(replicas.stderr).toContain("at '/webhooks/replicas': got string, want integer");
    const mode = await run(helm, [
      'template',
      'x',
      CHART,
      '--set',
      'certificates.mode=vault',
      '--kube-version',
      KUBERNETES_VERSION,
    ]);
    expect(mode.code).not.toBe(0);
    expect(mode.stderr).toContain(
      "at '/certificates/mode': value must be one of 'self', 'cert-manager'",
    );
    const memory = await run(helm, [
      'template',
      'x',
      CHART,
      '--set',
      'defaultClasses.sizes.small.memory=4GB',
      '--kube-version',
      KUBERNETES_VERSION,
    ]);
    expect(memory.code).not.toBe(0);
    expect(memory.stderr).toContain('/defaultClasses/sizes/small/memory');
  });

  it('never renders a NetworkPolicy open to every source: helm template without the API server addresses fails and says what to set', async () => {
    const r = await run(helm, [
      'template',
      'x',
      CHART,
      '-n',
      'x',
      '--kube-version',
      KUBERNETES_VERSION,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('networkPolicy.apiServerCIDRs');
    const [np] = (await template('x')).filter((o) => o.kind === 'NetworkPolicy');
    expect(np).toBeDefined();
    checkNetworkPolicy(np as NetworkPolicy, ['10.0.0.1/32']);
  });

  describe('installed with helm', () => {
    const NS = 'vmplane';
    const can = async (sa: string, args: string[]): Promise<boolean> => {
      // KubeVirt's subresource API is aggregated, which no stand-in CRD can serve, so kubectl cannot
      // resolve it: ask the SubjectAccessReview kubectl would send, directly.
      if (args[1]?.includes('subresources.kubevirt.io')) {
        const sub = args.find((a) => a.startsWith('--subresource='))?.split('=')[1];
        const review = await rest.request<{ status: { allowed: boolean } }>(
          'POST',
          '/apis/authorization.k8s.io/v1/subjectaccessreviews',
          {
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SubjectAccessReview',
              spec: {
                user: `system:serviceaccount:${NS}:${sa}`,
                groups: [
                  'system:serviceaccounts',
                  `system:serviceaccounts:${NS}`,
                  'system:authenticated',
                ],
                resourceAttributes: {
                  verb: args[0],
                  group: 'subresources.kubevirt.io',
                  resource: 'virtualmachineinstances',
                  subresource: sub,
                  namespace: args[args.indexOf('-n') + 1],
                },
              },
            },
          },
        );
        return review.body.status.allowed;
      }
      const r = await run(bins.kubectl, [
        '--kubeconfig',
        kubeconfig,
        'auth',
        'can-i',
        ...args,
        `--as=system:serviceaccount:${NS}:${sa}`,
      ]);
      return r.stdout.trim() === 'yes';
    };

    it('installs (CRDs included), and an upgrade keeps the certificates', async () => {
      await publishApiServerEndpoints(rest);
      const install = await helmRun(['install', 'vmplane', CHART, '-n', NS, '--create-namespace']);
      expect(install.code, install.stderr).toBe(0);
      // NOTES.txt adapts to the cluster: KubeVirt's real CRDs are there, but no KubeVirt CR.
      expect(install.stdout).toContain(
        "KubeVirt's CRDs are installed but no KubeVirt CR is deployed",
      );
      const crds = await rest.request<{ items: { metadata: { name: string } }[] }>(
        'GET',
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      );
      expect(crds.body.items.map((c) => c.metadata.name)).toEqual(
        expect.arrayContaining(['virtualmachines.vmplane.io', 'policyreports.wgpolicyk8s.io']),
      );
      const before = (
        await rest.get<{ webhooks: { clientConfig: { caBundle: string } }[] }>({
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingWebhookConfiguration',
          metadata: { name: 'vmplane-validating' },
        })
      ).webhooks[0]?.clientConfig.caBundle;
      expect(before).toBeTruthy();
      // A KubeVirt outside the versions vmplane is checked with: the upgrade's notes say so.
      await deployKubeVirt(kubeConfigFrom(kubeconfig), 'v1.5.2');
      const upgrade = await helmRun([
        'upgrade',
        'vmplane',
        CHART,
        '-n',
        NS,
        '--set',
        'webhooks.replicas=3',
      ]);
      expect(upgrade.code, upgrade.stderr).toBe(0);
      expect(upgrade.stdout).toContain('KubeVirt v1.5.2 is installed. Check the StorageProfiles');
      expect(upgrade.stdout).toContain(
        'WARNING: vmplane is checked with KubeVirt v1.7 and this cluster runs v1.5.2',
      );
      const after = (
        await rest.get<{ webhooks: { clientConfig: { caBundle: string } }[] }>({
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingWebhookConfiguration',
          metadata: { name: 'vmplane-validating' },
        })
      ).webhooks[0]?.clientConfig.caBundle;
      expect(after).toBe(before);
      const classes = await rest.request<{ items: unknown[] }>(
        'GET',
        '/apis/vmplane.io/v1alpha1/virtualmachineclasses',
      );
      expect(classes.body.items).toHaveLength(10);
    }, 120_000);

    describeInstalledNetworkPolicy(() => ({ rest, ns: NS }));

    // [component, can-i arguments]
    const allowed: [string, string[]][] = [
      ['vmplane-webhooks', ['watch', 'virtualmachines.vmplane.io', '-A']],
      ['vmplane-webhooks', ['list', 'virtualmachinepolicyexceptions.vmplane.io', '-A']],
      ['vmplane-webhooks', ['list', 'storageclasses.storage.k8s.io']],
      ['vmplane-webhooks', ['watch', 'namespaces']],
      [
        'vmplane-webhooks',
        ['patch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/vmplane-mutating'],
      ],
      [
        'vmplane-webhooks',
        ['get', 'validatingwebhookconfigurations.admissionregistration.k8s.io/vmplane-validating'],
      ],
      ['vmplane-webhooks', ['update', 'secrets/vmplane-webhook-tls', '-n', NS]],
      ['vmplane-webhooks', ['update', 'secrets/vmplane-webhook-ca', '-n', NS]],
      // The replicas' certificate reports, in the one Lease the chart makes for them.
      [
        'vmplane-webhooks',
        ['update', 'leases.coordination.k8s.io/vmplane-webhook-serving', '-n', NS],
      ],
      // Disk claims, and the VM DELETE webhook's rules.
      ['vmplane-webhooks', ['patch', 'virtualmachinedisks.vmplane.io', '-n', 'team-a']],
      [
        'vmplane-webhooks',
        [
          'patch',
          'validatingwebhookconfigurations.admissionregistration.k8s.io/vmplane-validating',
        ],
      ],
      ['vmplane-controllers', ['patch', 'virtualmachines.vmplane.io', '-n', 'team-a']],
      [
        'vmplane-controllers',
        ['patch', 'virtualmachines.vmplane.io', '--subresource=status', '-n', 'team-a'],
      ],
      ['vmplane-controllers', ['delete', 'storageprofiles.vmplane.io']],
      ['vmplane-controllers', ['create', 'virtualmachines.kubevirt.io', '-n', 'team-a']],
      [
        'vmplane-controllers',
        [
          'update',
          'virtualmachineinstances.subresources.kubevirt.io',
          '--subresource=pause',
          '-n',
          'team-a',
        ],
      ],
      ['vmplane-controllers', ['create', 'datavolumes.cdi.kubevirt.io', '-n', 'team-a']],
      ['vmplane-controllers', ['patch', 'persistentvolumeclaims', '-n', 'team-a']],
      ['vmplane-controllers', ['create', 'events', '-n', 'team-a']],
      ['vmplane-controllers', ['patch', 'policyreports.wgpolicyk8s.io', '-n', 'team-a']],
      ['vmplane-controllers', ['watch', 'customresourcedefinitions.apiextensions.k8s.io']],
      [
        'vmplane-controllers',
        ['update', 'leases.coordination.k8s.io/vmplane-controllers', '-n', NS],
      ],
      // Networks: claims made at admission, released by the controllers; what they become.
      ['vmplane-webhooks', ['create', 'networkaddresses.vmplane.io']],
      ['vmplane-controllers', ['delete', 'networkaddresses.vmplane.io']],
      ['vmplane-controllers', ['patch', 'networks.vmplane.io', '--subresource=status']],
      ['vmplane-controllers', ['create', 'services', '-n', 'team-a']],
      ['vmplane-controllers', ['delete', 'endpointslices.discovery.k8s.io', '-n', 'team-a']],
      ['vmplane-controllers', ['create', 'network-attachment-definitions.k8s.cni.cncf.io']],
      [
        'vmplane-controllers',
        ['patch', 'virtualmachineservices.vmplane.io', '--subresource=status', '-n', 'team-a'],
      ],
      // /metrics asks the API server who calls and whether they may.
      ['vmplane-controllers', ['create', 'tokenreviews.authentication.k8s.io']],
      ['vmplane-controllers', ['create', 'subjectaccessreviews.authorization.k8s.io']],
      ['vmplane-webhooks', ['create', 'tokenreviews.authentication.k8s.io']],
      ['vmplane-webhooks', ['create', 'subjectaccessreviews.authorization.k8s.io']],
    ];
    const denied: [string, string[]][] = [
      ['vmplane-webhooks', ['update', 'virtualmachines.vmplane.io', '-n', 'team-a']],
      ['vmplane-webhooks', ['delete', 'virtualmachineclasses.vmplane.io']],
      [
        'vmplane-webhooks',
        ['patch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/someone-elses'],
      ],
      [
        'vmplane-webhooks',
        [
          'delete',
          'validatingwebhookconfigurations.admissionregistration.k8s.io/vmplane-validating',
        ],
      ],
      ['vmplane-webhooks', ['get', 'secrets/other', '-n', NS]],
      ['vmplane-webhooks', ['create', 'secrets', '-n', NS]],
      ['vmplane-webhooks', ['patch', 'virtualmachines.vmplane.io', '-n', 'team-a']],
      ['vmplane-webhooks', ['list', 'secrets', '-n', 'kube-system']],
      ['vmplane-webhooks', ['create', 'leases.coordination.k8s.io', '-n', 'kube-system']],
      ['vmplane-webhooks', ['create', 'namespaces']],
      ['vmplane-controllers', ['get', 'secrets', '-n', NS]],
      ['vmplane-controllers', ['create', 'networkaddresses.vmplane.io']],
      ['vmplane-controllers', ['update', 'virtualmachineservices.vmplane.io', '-n', 'team-a']],
      ['vmplane-controllers', ['create', 'pods', '-n', 'team-a']],
      ['vmplane-controllers', ['delete', 'namespaces']],
      ['vmplane-controllers', ['update', 'virtualmachineinstances.kubevirt.io', '-n', 'team-a']],
      ['vmplane-controllers', ['delete', 'virtualmachineclasses.vmplane.io']],
      ['vmplane-controllers', ['update', 'leases.coordination.k8s.io/kube-scheduler', '-n', NS]],
      ['vmplane-controllers', ['create', 'clusterrolebindings.rbac.authorization.k8s.io']],
      ['vmplane-controllers', ['delete', 'customresourcedefinitions.apiextensions.k8s.io']],
      ['vmplane-controllers', ['patch', 'nodes']],
      ['vmplane-controllers', ['impersonate', 'users']],
      // Each component's Leases are its own: the controllers' leader Lease is out of the
      // webhooks' reach, and the other way round.
      ['vmplane-webhooks', ['update', 'leases.coordination.k8s.io/vmplane-controllers', '-n', NS]],
      ['vmplane-webhooks', ['delete', 'leases.coordination.k8s.io/vmplane-controllers', '-n', NS]],
      ['vmplane-webhooks', ['create', 'leases.coordination.k8s.io', '-n', NS]],
      ['vmplane-webhooks', ['list', 'leases.coordination.k8s.io', '-n', NS]],
      [
        'vmplane-webhooks',
        ['delete', 'leases.coordination.k8s.io/vmplane-webhook-serving', '-n', NS],
      ],
      [
        'vmplane-controllers',
        ['delete', 'leases.coordination.k8s.io/vmplane-controllers', '-n', NS],
      ],
      [
        'vmplane-controllers',
        ['update', 'leases.coordination.k8s.io/vmplane-webhook-serving', '-n', NS],
      ],
      ['vmplane-controllers', ['list', 'leases.coordination.k8s.io', '-n', NS]],
      // Reviews are for /metrics, not a way to read anything.
      ['vmplane-controllers', ['get', 'tokenreviews.authentication.k8s.io']],
    ];

    it('grants each component every verb it needs', async () => {
      const missing: string[] = [];
      for (const [sa, args] of allowed)
        if (!(await can(sa, args))) missing.push(`${sa}: ${args.join(' ')}`);
      expect(missing).toEqual([]);
    }, 60_000);

    it(`denies at least 10 verbs they do not need (${denied.length} checked)`, async () => {
      expect(denied.length).toBeGreaterThanOrEqual(10);
      const granted: string[] = [];
      for (const [sa, args] of denied)
        if (await can(sa, args)) granted.push(`${sa}: ${args.join(' ')}`);
      expect(granted).toEqual([]);
    }, 60_000);

    describeMetricsReader(() => ({ rest, kubectl: bins.kubectl, kubeconfig, ns: NS }));
    describeMetricsUnderChartRbac(() => ({ rest, ns: NS, ...apiServer }));
    describeUserRoles(() => ({ rest, kubectl: bins.kubectl, kubeconfig }));

    it('uninstalls without leaving a webhook configuration behind', async () => {
      const r = await helmRun(['uninstall', 'vmplane', '-n', NS, '--wait', '--timeout', '60s']);
      expect(r.code, r.stderr).toBe(0);
      const left = await rest.request<{ items: { metadata: { name: string } }[] }>(
        'GET',
        '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
      );
      const leftM = await rest.request<{ items: { metadata: { name: string } }[] }>(
        'GET',
        '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
      );
      expect(
        [...left.body.items, ...leftM.body.items]
          .map((w) => w.metadata.name)
          .filter((n) => n.startsWith('vmplane')),
      ).toEqual([]);
      expect(
        (
          await rest.request<{ items: unknown[] }>(
            'GET',
            '/apis/vmplane.io/v1alpha1/virtualmachineclasses',
          )
        ).body.items,
      ).toHaveLength(0);
    }, 120_000);

    it('leaves no VM stuck: kubectl vm release-finalizers lets what vmplane guarded go', async () => {
      // VMs and disks from before the uninstall carry the finalizers the controllers would remove.
      const ns = `left-${Date.now().toString(36)}`;
      await rest.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      const V = '/apis/vmplane.io/v1alpha1';
      await rest.request('POST', `${V}/namespaces/${ns}/virtualmachines`, {
        body: {
          apiVersion: 'vmplane.io/v1alpha1',
          kind: 'VirtualMachine',
          metadata: { name: 'old', finalizers: ['vmplane.io/vm-cleanup', 'example.com/keep'] },
          spec: {
            className: 'gone',
            powerState: 'PoweredOff',
            disks: [{ name: 'd', size: '1Gi', boot: true }],
          },
        },
      });
      await rest.request('POST', `${V}/namespaces/${ns}/virtualmachinedisks`, {
        body: {
          apiVersion: 'vmplane.io/v1alpha1',
          kind: 'VirtualMachineDisk',
          metadata: { name: 'old', finalizers: ['vmplane.io/disk-protection'] },
          spec: { size: '1Gi' },
        },
      });
      // (This control plane has no namespace controller, so each is deleted by name.)
      await rest.request('DELETE', `${V}/namespaces/${ns}/virtualmachines/old`);
      await rest.request('DELETE', `${V}/namespaces/${ns}/virtualmachinedisks/old`);
      const present = async (path: string): Promise<boolean> =>
        rest.request('GET', path).then(
          () => true,
          () => false,
        );
      // Stuck: nothing will ever remove vmplane's finalizers.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(await present(`${V}/namespaces/${ns}/virtualmachines/old`)).toBe(true);
      expect(await present(`${V}/namespaces/${ns}/virtualmachinedisks/old`)).toBe(true);
      const r = await run(process.execPath, [
        '--import',
        'tsx',
        join(REPO_ROOT, 'cli/src/kubectl-vm/main.ts'),
        '--kubeconfig',
        kubeconfig,
        'release-finalizers',
        '-A',
      ]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('released 1 VMs and 1 disks');
      await waitUntil(
        'the disk gone',
        async () => !(await present(`${V}/namespaces/${ns}/virtualmachinedisks/old`)),
      );
      // Someone else's finalizer stays theirs to remove.
      const vm = await rest.request<{ metadata: { finalizers: string[] } }>(
        'GET',
        `${V}/namespaces/${ns}/virtualmachines/old`,
      );
      expect(vm.body.metadata.finalizers).toEqual(['example.com/keep']);
      await rest.request('PATCH', `${V}/namespaces/${ns}/virtualmachines/old`, {
        body: { metadata: { finalizers: null } },
        contentType: 'application/merge-patch+json',
      });
    }, 60_000);
  });

  it('renders manifests the real API server accepts (server-side apply), every option on', async () => {
    await rest.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'vmplane-all-on' } });
    const objs = await template('vmplane-all-on', ['-f', ALL_ON]);
    expect(new Set(objs.map((o) => o.kind))).toEqual(
      new Set([
        'ServiceAccount',
        'ClusterRole',
        'ClusterRoleBinding',
        'Role',
        'RoleBinding',
        'Service',
        'Deployment',
        'PodDisruptionBudget',
        'Issuer',
        'Certificate',
        'MutatingWebhookConfiguration',
        'ValidatingWebhookConfiguration',
        'VirtualMachineClass',
        'VirtualMachinePolicy',
        'NetworkPolicy',
        'ServiceMonitor',
      ]),
    );
    try {
      await applyAll(objs);
      const mutating = await rest.get<{ metadata: { annotations: Record<string, string> } }>({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name: 'vmplane-mutating' },
      });
      expect(mutating.metadata.annotations['cert-manager.io/inject-ca-from']).toBe(
        'vmplane-all-on/vmplane-webhook-tls',
      );
    } finally {
      await deleteAll(objs);
    }
  });

  it('renders self-managed certificates: the webhooks point at the Service with the caBundle that signed it', async () => {
    await rest.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'vmplane-ssa' } });
    const objs = await template('vmplane-ssa');
    try {
      await applyAll(objs);
      const secret = await rest.get<{ data: Record<string, string> }>({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'vmplane-webhook-tls', namespace: 'vmplane-ssa' },
      });
      const serving = new X509Certificate(Buffer.from(secret.data['tls.crt'] ?? '', 'base64'));
      // The CA key is in a Secret of its own, never next to the serving pair.
      expect(Object.keys(secret.data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
      const caSecret = await rest.get<{ data: Record<string, string> }>({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'vmplane-webhook-ca', namespace: 'vmplane-ssa' },
      });
      expect(Object.keys(caSecret.data).sort()).toEqual(['ca-bundle.crt', 'ca.crt', 'ca.key']);
      expect(
        serving.verify(
          new X509Certificate(Buffer.from(caSecret.data['ca.crt'] ?? '', 'base64')).publicKey,
        ),
      ).toBe(true);
      for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
        const cfg = await rest.get<{
          webhooks: {
            name: string;
            clientConfig: {
              service: { namespace: string; name: string; port: number; path: string };
              caBundle: string;
            };
          }[];
        }>({
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind,
          metadata: {
            name: kind.startsWith('Mutating') ? 'vmplane-mutating' : 'vmplane-validating',
          },
        });
        for (const w of cfg.webhooks) {
          expect(w.clientConfig.service).toMatchObject({
            namespace: 'vmplane-ssa',
            name: 'vmplane-webhooks',
            port: 443,
          });
          const ca = new X509Certificate(Buffer.from(w.clientConfig.caBundle, 'base64'));
          expect(
            serving.verify(ca.publicKey),
            `${w.name}: the serving certificate is signed by the caBundle`,
          ).toBe(true);
        }
      }
      expect(serving.checkHost('vmplane-webhooks.vmplane-ssa.svc')).toBe(
        'vmplane-webhooks.vmplane-ssa.svc',
      );
    } finally {
      await deleteAll(objs);
    }
  });
});
