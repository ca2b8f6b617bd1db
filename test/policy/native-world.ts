// The world of the native-parity test (native-parity.test.ts): suites of policies, exceptions and
// VMs, each in namespaces of its own under one webhook scope, built from the example library
// (examples/policies) and the CEL corpus (cel-corpus.ts). Names of cluster-wide objects carry the
// scope, so other test files sharing the API server never meet them.
import { join } from 'node:path';
import type {
  VirtualMachine,
  VirtualMachinePolicy,
  VirtualMachinePolicyException,
} from '../../api/generated/types.ts';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { loadManifestDir } from '../../kube/src/manifests.ts';
import type { KubeObjectLike } from '../../kube/src/rest.ts';
import { CORPUS, parityVm } from './cel-corpus.ts';

export interface Suite {
  name: string;
  namespaces: { name: string; labels: Record<string, string> }[];
  policies: VirtualMachinePolicy[];
  exceptions: VirtualMachinePolicyException[];
  vms: VirtualMachine[];
  /** VMs created for real, then updated (their owner label removed) and deleted, both dry-run. */
  existing: VirtualMachine[];
}

const library = loadManifestDir(join(REPO_ROOT, 'examples/policies')).map((m) => m.object);
const ofKind = <T>(kind: string): T[] =>
  library.filter((o) => o.kind === kind).map((o) => structuredClone(o) as unknown as T);

/** Classes, images and storage classes the VMs use, named with the scope. */
export function fixtures(scope: string): KubeObjectLike[] {
  const named = (o: KubeObjectLike): KubeObjectLike => ({
    ...o,
    metadata: { ...o.metadata, name: `${o.metadata.name}-${scope}` },
  });
  return [
    ...library
      .filter((o) => ['VirtualMachineClass', 'ClusterVirtualMachineImage'].includes(o.kind))
      .map((o) => named(o as unknown as KubeObjectLike)),
    ...['sc', 'ceph-rbd'].map((name) => ({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: `${name}-${scope}` },
      provisioner: 'rbd.csi.ceph.com',
    })),
  ];
}

/** The namespace a suite uses for one of the library's namespaces. */
const nsName = (scope: string, suite: string, ns: string): string => `${scope}-${suite}-${ns}`;

function scoped(p: VirtualMachinePolicy, scope: string, suite: string): VirtualMachinePolicy {
  const sel = p.spec.match?.namespaceSelector ?? {};
  return {
    ...p,
    // The scope label: the webhooks of this scope count it (their VM DELETE registration).
    metadata: {
      name: `${p.metadata.name}-${suite}-${scope}`,
      labels: { 'vmplane.io/webhook-scope': scope },
    },
    spec: {
      ...p.spec,
      match: {
        ...p.spec.match,
        namespaceSelector: {
          ...sel,
          matchExpressions: [
            ...(sel.matchExpressions ?? []),
            { key: 'vmplane.io/webhook-scope', operator: 'In', values: [scope] },
            { key: 'native-parity-suite', operator: 'In', values: [suite] },
          ],
        },
      },
    },
  };
}

function exception(
  scope: string,
  suite: string,
  ns: string,
  name: string,
  spec: Omit<VirtualMachinePolicyException['spec'], 'reason'>,
): VirtualMachinePolicyException {
  return {
    apiVersion: API_VERSION,
    kind: 'VirtualMachinePolicyException',
    metadata: { name, namespace: nsName(scope, suite, ns) },
    spec: {
      ...spec,
      policyName: `${spec.policyName}-${suite}-${scope}`,
      reason: 'granted for the parity test',
    },
  };
}

/** Every native built-in rule at once, so that the library's VMs break each of them. */
const BUILTINS: VirtualMachinePolicy = {
  apiVersion: API_VERSION,
  kind: 'VirtualMachinePolicy',
  metadata: { name: 'builtins' },
  spec: {
    validationActions: ['Warn'],
    rules: {
      allowedImages: ['ubuntu-2?.*', 'home*'],
      maxDisks: 0,
      allowedNetworks: ['blue', 'prod-*'],
      requiredLabels: [{ key: 'vmplane.io/owner', values: ['team-web', 'team-ml'] }],
      requiredAnnotations: [{ key: 'note' }],
      allowedPowerStates: ['PoweredOff'],
    },
  },
};

/** Checks UPDATE and DELETE: a protected VM keeps its owner and is never deleted. */
const PROTECT: VirtualMachinePolicy = {
  apiVersion: API_VERSION,
  kind: 'VirtualMachinePolicy',
  metadata: { name: 'protect' },
  spec: {
    validationActions: ['Deny'],
    match: { operations: ['UPDATE', 'DELETE'], vmSelector: { matchLabels: { protect: 'yes' } } },
    rules: { requiredLabels: [{ key: 'vmplane.io/owner' }] },
    validations: [
      {
        name: 'not-deleted',
        expression: "request.operation != 'DELETE' || oldObject.metadata.name != 'keeper'",
        messageExpression: "'VM ' + oldObject.metadata.name + ' is protected'",
      },
    ],
  },
};

/** The example library as written ('ex'), or with every policy turned to Warn ('exw'). */
export function librarySuite(scope: string, suite: 'ex' | 'exw'): Suite {
  const namespaces = ofKind<{ metadata: { name: string; labels?: Record<string, string> } }>(
    'Namespace',
  ).map((n) => ({ name: nsName(scope, suite, n.metadata.name), labels: n.metadata.labels ?? {} }));
  // The built-in rules deny team-data's VMs in 'ex', so that generated policies deny there.
  const builtins: VirtualMachinePolicy =
    suite === 'ex'
      ? {
          ...BUILTINS,
          spec: {
            ...BUILTINS.spec,
            validationActions: ['Deny'],
            match: { vmSelector: { matchLabels: { 'vmplane.io/owner': 'team-data' } } },
          },
        }
      : BUILTINS;
  let policies = [
    ...ofKind<VirtualMachinePolicy>('VirtualMachinePolicy'),
    builtins,
    ...(suite === 'ex' ? [PROTECT] : []),
  ];
  if (suite === 'exw')
    policies = policies.map((p) => ({ ...p, spec: { ...p.spec, validationActions: ['Warn'] } }));
  const exceptions = [
    ...ofKind<VirtualMachinePolicyException>('VirtualMachinePolicyException').map((e) =>
      exception(scope, suite, e.metadata.namespace ?? '', e.metadata.name ?? '', e.spec),
    ),
    suite === 'ex'
      ? exception(scope, suite, 'dev', 'orphan-owner', {
          policyName: 'owner-label-required',
          rules: ['requiredLabels'],
          vmNames: ['orphan'],
        })
      : exception(scope, suite, 'prod', 'pinned-anyway', {
          policyName: 'live-migratable-storage',
          vmSelector: { matchLabels: { 'vmplane.io/owner': 'team-web' } },
        }),
  ];
  const vms = ofKind<VirtualMachine>('VirtualMachine').map((v) => {
    const spec = structuredClone(v.spec);
    if (spec.className) spec.className = `${spec.className}-${scope}`;
    if (spec.image) spec.image = { ...spec.image, name: `${spec.image.name}-${scope}` };
    if (spec.bootDisk?.storageClassName)
      spec.bootDisk.storageClassName = `${spec.bootDisk.storageClassName}-${scope}`;
    return {
      ...v,
      metadata: { ...v.metadata, namespace: nsName(scope, suite, v.metadata.namespace ?? '') },
      spec,
    };
  });
  // The library's homemade image lives in dev as a VirtualMachineImage; boot from the cluster's.
  for (const v of vms)
    if (v.spec.image?.name.startsWith('homemade-')) v.spec.image.name = `ubuntu-24.04-${scope}`;
  const keeper = structuredClone(vms.find((v) => v.metadata.name === 'web') as VirtualMachine);
  keeper.metadata = {
    ...keeper.metadata,
    name: 'keeper',
    labels: { ...keeper.metadata.labels, protect: 'yes' },
  };
  return {
    name: suite,
    namespaces,
    policies: policies.map((p) => scoped(p, scope, suite)),
    exceptions,
    vms,
    existing: suite === 'ex' ? [keeper] : [],
  };
}

/**
 * The CEL corpus as Warn policies of 8 validations each, named c<i>: a static message, a
 * messageExpression, or one that fails (falling back to the message or `failed: <expression>`).
 * Each policy has a VM of its own (selected by label), so that no answer carries more warnings
 * than the API server sends (4 KB, then it truncates and drops them).
 */
export function corpusSuite(scope: string, compiles: (e: string) => boolean): Suite {
  const exprs = CORPUS.filter(compiles);
  const ns = nsName(scope, 'cel', 'x');
  const policies: VirtualMachinePolicy[] = [];
  const vms: VirtualMachine[] = [];
  for (let b = 0; b * BATCH < exprs.length; b++) {
    const validations = exprs.slice(b * BATCH, (b + 1) * BATCH).map((expression, j) => {
      const i = b * BATCH + j;
      const variant = i % 4;
      return {
        name: `c${i}`,
        expression,
        ...(variant === 0 ? { message: `E${i}` } : {}),
        ...(variant === 1 ? { messageExpression: `'M${i} ' + object.metadata.name` } : {}),
        ...(variant === 2
          ? { messageExpression: 'string(object.spec.zone)', message: `F${i}` }
          : {}),
      };
    });
    policies.push(
      scoped(
        {
          apiVersion: API_VERSION,
          kind: 'VirtualMachinePolicy',
          metadata: { name: `corpus-${b}` },
          spec: {
            validationActions: ['Warn'],
            match: { vmSelector: { matchLabels: { 'cel-batch': String(b) } } },
            validations,
          },
        },
        scope,
        'cel',
      ),
    );
    const vm = parityVm(`cel-${b}`, ns, String(b)) as unknown as VirtualMachine;
    vm.spec.className = `best-effort-small-${scope}`;
    vm.spec.image = { kind: 'ClusterVirtualMachineImage', name: `ubuntu-24.04-${scope}` };
    vms.push(vm);
  }
  return {
    name: 'cel',
    namespaces: [{ name: ns, labels: {} }],
    policies,
    exceptions: [],
    vms,
    existing: [],
  };
}

const BATCH = 8;
