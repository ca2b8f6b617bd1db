// Checks of the installed chart kept apart from chart.test.ts: the NetworkPolicy's shape, and what
// users bound to Kubernetes' admin, edit and view roles (and vmplane's exceptions role) may do.
import { execFile } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import type { KubeObjectLike, KubeRest } from '../../kube/src/rest.ts';

const run = (cmd: string, args: string[]): Promise<{ stdout: string }> =>
  new Promise((resolve) => {
    execFile(cmd, args, (_err, stdout) => resolve({ stdout }));
  });

interface NetworkPolicyPeer {
  ipBlock?: { cidr: string };
  namespaceSelector?: unknown;
  podSelector?: unknown;
}
interface NetworkPolicyRule {
  ports?: { port: number; protocol: string }[];
  from?: NetworkPolicyPeer[];
  to?: NetworkPolicyPeer[];
}
export interface NetworkPolicy extends KubeObjectLike {
  spec: { policyTypes: string[]; ingress: NetworkPolicyRule[]; egress?: NetworkPolicyRule[] };
}

/** No rule on the webhook port without a `from`; egress only to the API server and DNS. */
export function checkNetworkPolicy(np: NetworkPolicy, apiServer: string[]): void {
  expect(np.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
  const onWebhookPort = np.spec.ingress.filter((r) => r.ports?.some((p) => p.port === 8443));
  expect(onWebhookPort.length).toBeGreaterThan(0);
  for (const rule of onWebhookPort) {
    expect(
      rule.from,
      'a rule on the webhook port without `from` admits every source',
    ).toBeDefined();
    expect(rule.from?.map((f) => f.ipBlock?.cidr)).toEqual(apiServer);
  }
  const egress = np.spec.egress ?? [];
  const toApi = egress.find((r) => r.to?.some((t) => t.ipBlock));
  expect(toApi?.to?.map((t) => t.ipBlock?.cidr)).toEqual(apiServer);
  expect(toApi?.ports?.map((p) => p.port)).toEqual(expect.arrayContaining([443, 6443]));
  const dns = egress.find((r) => r.ports?.some((p) => p.port === 53));
  expect(dns?.ports).toEqual(
    expect.arrayContaining([
      { port: 53, protocol: 'UDP' },
      { port: 53, protocol: 'TCP' },
    ]),
  );
  expect(dns?.to?.[0]).toMatchObject({
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
    podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
  });
  expect(egress).toHaveLength(2);
}

/** The user-role tests, run inside the suite that installed the chart. */
export function describeUserRoles(
  env: () => { rest: KubeRest; kubectl: string; kubeconfig: string },
): void {
  describe('user roles', () => {
    // This control plane runs no controller manager, so no clusterrole-aggregation controller:
    // the test does its work, filling admin/edit/view from the ClusterRoles their labels select.
    const aggregate = async (): Promise<void> => {
      type Role = {
        metadata: { name: string; labels?: Record<string, string> };
        aggregationRule?: { clusterRoleSelectors: { matchLabels: Record<string, string> }[] };
        rules?: unknown[];
      };
      const all = (
        await env().rest.request<{ items: Role[] }>(
          'GET',
          '/apis/rbac.authorization.k8s.io/v1/clusterroles',
        )
      ).body.items;
      for (const name of ['admin', 'edit', 'view']) {
        const role = all.find((r) => r.metadata.name === name);
        const selectors = role?.aggregationRule?.clusterRoleSelectors ?? [];
        const rules = all
          .filter((r) =>
            selectors.some((sel) =>
              Object.entries(sel.matchLabels).every(([k, v]) => r.metadata.labels?.[k] === v),
            ),
          )
          .flatMap((r) => r.rules ?? []);
        await env().rest.request(
          'PATCH',
          `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}`,
          {
            body: { rules },
            contentType: 'application/merge-patch+json',
          },
        );
      }
    };
    const bind = async (ns: string, name: string, role: string, user: string) => {
      await env().rest.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      await env().rest.apply({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name, namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
      });
    };
    /** What `kubectl auth can-i --as <user>` says; KubeVirt's aggregated subresources by a review. */
    const userCan = async (user: string, args: string[]): Promise<boolean> => {
      const sub = args[1]?.split('/');
      if (sub?.[0]?.endsWith('.subresources.kubevirt.io')) {
        const review = await env().rest.request<{ status: { allowed: boolean } }>(
          'POST',
          '/apis/authorization.k8s.io/v1/subjectaccessreviews',
          {
            body: {
              apiVersion: 'authorization.k8s.io/v1',
              kind: 'SubjectAccessReview',
              spec: {
                user,
                groups: ['system:authenticated'],
                resourceAttributes: {
                  verb: args[0],
                  group: 'subresources.kubevirt.io',
                  resource: sub[0].split('.')[0],
                  subresource: args.find((a) => a.startsWith('--subresource='))?.split('=')[1],
                  name: sub[1],
                  namespace: args[args.indexOf('-n') + 1],
                },
              },
            },
          },
        );
        return review.body.status.allowed;
      }
      const r = await run(env().kubectl, [
        '--kubeconfig',
        env().kubeconfig,
        'auth',
        'can-i',
        ...args,
        `--as=${user}`,
      ]);
      return r.stdout.trim() === 'yes';
    };
    const sub = (verb: string, kind: string, subresource: string, ns: string): string[] => [
      verb,
      `${kind}.subresources.kubevirt.io/x`,
      `--subresource=${subresource}`,
      '-n',
      ns,
    ];

    beforeAll(async () => {
      await bind('team-x', 'alice-edits', 'edit', 'alice');
      await bind('team-x', 'victor-views', 'view', 'victor');
      await bind('team-x', 'adam-admins', 'admin', 'adam');
      await aggregate();
    });

    it('edit (and admin): VMs, disks and VM services, consoles, port-forward and power; catalog kinds read only; no exceptions', async () => {
      const yes: string[][] = [
        ['create', 'virtualmachines.vmplane.io', '-n', 'team-x'],
        ['delete', 'virtualmachines.vmplane.io', '-n', 'team-x'],
        ['patch', 'virtualmachinedisks.vmplane.io', '-n', 'team-x'],
        ['create', 'virtualmachinedisks.vmplane.io', '-n', 'team-x'],
        sub('get', 'virtualmachineinstances', 'console', 'team-x'),
        sub('get', 'virtualmachineinstances', 'vnc', 'team-x'),
        sub('get', 'virtualmachineinstances', 'portforward', 'team-x'),
        ['create', 'virtualmachineservices.vmplane.io', '-n', 'team-x'],
        ['list', 'networks.vmplane.io'],
        sub('update', 'virtualmachines', 'start', 'team-x'),
        sub('update', 'virtualmachines', 'stop', 'team-x'),
        sub('update', 'virtualmachines', 'restart', 'team-x'),
        sub('update', 'virtualmachineinstances', 'pause', 'team-x'),
        sub('update', 'virtualmachineinstances', 'unpause', 'team-x'),
        ['get', 'virtualmachineimages.vmplane.io', '-n', 'team-x'],
        ['list', 'virtualmachineclasses.vmplane.io'],
        ['get', 'clustervirtualmachineimages.vmplane.io'],
        ['list', 'storageprofiles.vmplane.io'],
        ['watch', 'virtualmachinepolicies.vmplane.io'],
        ['list', 'virtualmachinepolicyexceptions.vmplane.io', '-n', 'team-x'],
      ];
      const no: string[][] = [
        ['create', 'virtualmachines.vmplane.io', '-n', 'team-y'],
        ['create', 'virtualmachineimages.vmplane.io', '-n', 'team-x'],
        ['create', 'virtualmachineclasses.vmplane.io'],
        ['delete', 'clustervirtualmachineimages.vmplane.io'],
        ['patch', 'storageprofiles.vmplane.io'],
        ['update', 'virtualmachinepolicies.vmplane.io'],
        ['create', 'virtualmachinepolicyexceptions.vmplane.io', '-n', 'team-x'],
        ['update', 'virtualmachines.vmplane.io', '--subresource=status', '-n', 'team-x'],
        ['create', 'networks.vmplane.io'],
        ['delete', 'networkaddresses.vmplane.io'],
      ];
      for (const user of ['alice', 'adam']) {
        const missing = [];
        for (const a of yes) if (!(await userCan(user, a))) missing.push(a.join(' '));
        const granted = [];
        for (const a of no) if (await userCan(user, a)) granted.push(a.join(' '));
        expect({ user, missing, granted }).toEqual({ user, missing: [], granted: [] });
      }
    }, 60_000);

    it('view: reads VMs and every vmplane kind, writes nothing, opens no console', async () => {
      const yes: string[][] = [
        ['list', 'virtualmachines.vmplane.io', '-n', 'team-x'],
        ['get', 'virtualmachinedisks.vmplane.io', '-n', 'team-x'],
        ['list', 'virtualmachinepolicyexceptions.vmplane.io', '-n', 'team-x'],
        ['list', 'virtualmachineclasses.vmplane.io'],
        ['list', 'virtualmachineservices.vmplane.io', '-n', 'team-x'],
        ['get', 'networks.vmplane.io'],
      ];
      const no: string[][] = [
        ['create', 'virtualmachines.vmplane.io', '-n', 'team-x'],
        ['patch', 'virtualmachinedisks.vmplane.io', '-n', 'team-x'],
        ['create', 'virtualmachineservices.vmplane.io', '-n', 'team-x'],
        sub('get', 'virtualmachineinstances', 'portforward', 'team-x'),
        sub('get', 'virtualmachineinstances', 'console', 'team-x'),
        sub('get', 'virtualmachineinstances', 'vnc', 'team-x'),
        sub('update', 'virtualmachines', 'start', 'team-x'),
      ];
      const missing = [];
      for (const a of yes) if (!(await userCan('victor', a))) missing.push(a.join(' '));
      const granted = [];
      for (const a of no) if (await userCan('victor', a)) granted.push(a.join(' '));
      expect({ missing, granted }).toEqual({ missing: [], granted: [] });
    }, 60_000);

    it('policy exceptions only through their own role, only where it is bound', async () => {
      const role = await env().rest.request<{ metadata: { labels?: Record<string, string> } }>(
        'GET',
        '/apis/rbac.authorization.k8s.io/v1/clusterroles/vmplane-policy-exceptions-editor',
      );
      // Not aggregated: no namespace admin waives guardrails for their own VMs.
      expect(
        Object.keys(role.body.metadata.labels ?? {}).filter((k) => k.includes('aggregate-to')),
      ).toEqual([]);
      await bind('team-x', 'erin-exceptions', 'vmplane-policy-exceptions-editor', 'erin');
      expect(
        await userCan('erin', [
          'create',
          'virtualmachinepolicyexceptions.vmplane.io',
          '-n',
          'team-x',
        ]),
      ).toBe(true);
      expect(
        await userCan('erin', [
          'create',
          'virtualmachinepolicyexceptions.vmplane.io',
          '-n',
          'team-y',
        ]),
      ).toBe(false);
      expect(await userCan('erin', ['create', 'virtualmachines.vmplane.io', '-n', 'team-x'])).toBe(
        false,
      );
    });
  });
}

/** The metrics reader ClusterRole, checked in the suite that installed the chart. */
export function describeMetricsReader(
  env: () => { rest: KubeRest; kubectl: string; kubeconfig: string; ns: string },
): void {
  it('ships a ClusterRole that may read /metrics, and nothing else has it by default', async () => {
    await env().rest.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'prometheus-reads-vmplane' },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'vmplane-metrics-reader',
      },
      subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }],
    });
    const canGet = async (who: string): Promise<string> =>
      (
        await run(env().kubectl, [
          '--kubeconfig',
          env().kubeconfig,
          'auth',
          'can-i',
          'get',
          '/metrics',
          `--as=${who}`,
        ])
      ).stdout.trim();
    expect(await canGet('system:serviceaccount:monitoring:prometheus')).toBe('yes');
    expect(await canGet('system:serviceaccount:monitoring:other')).toBe('no');
    expect(await canGet(`system:serviceaccount:${env().ns}:vmplane-webhooks`)).toBe('no');
    await env().rest.request(
      'DELETE',
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/prometheus-reads-vmplane',
    );
  });
}

/** The NetworkPolicy `helm install` made, with the API server's addresses it looked up. */
export function describeInstalledNetworkPolicy(env: () => { rest: KubeRest; ns: string }): void {
  it('installs a NetworkPolicy that admits only the API server on the webhook port (its addresses looked up at install)', async () => {
    const slice = await env().rest.request<{ endpoints: { addresses: string[] }[] }>(
      'GET',
      '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes',
    );
    const addresses = slice.body.endpoints
      .flatMap((e) => e.addresses)
      .map((a) => `${a}/${a.includes(':') ? 128 : 32}`);
    expect(addresses.length).toBeGreaterThan(0);
    const np = await env().rest.get<NetworkPolicy>({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'vmplane', namespace: env().ns },
    });
    checkNetworkPolicy(np, addresses);
    // The port the API server's endpoints listen on, from the same EndpointSlice.
    expect(np.spec.egress?.[0]?.ports?.map((p) => p.port)).toContain(6444);
  });
}

/**
 * What a cluster has and this control plane lacks: the default/kubernetes EndpointSlice (written
 * by the EndpointSlice controller from the API server's Endpoints; this API server advertises
 * 127.0.0.1, which it never publishes). `helm install` looks it up for the NetworkPolicy.
 */
export async function publishApiServerEndpoints(rest: KubeRest): Promise<void> {
  await rest.apply({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': 'kubernetes' },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['192.0.2.10'] }, { addresses: ['192.0.2.11'] }],
    ports: [{ name: 'https', port: 6444, protocol: 'TCP' }],
  });
}
