// The fixtures the policy unit tests (policy/src/*.test.ts) share: a small cluster of classes,
// images, a disk and three namespaces; the VM and the policy the tests start from; and run(),
// which evaluates policies against a VM the way the admission webhook does.
import type {
  ClusterVirtualMachineImage,
  VirtualMachine,
  VirtualMachineClass,
  VirtualMachineDisk,
  VirtualMachinePolicy,
  VirtualMachinePolicyException,
} from '../../api/generated/types.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { staticLookups } from '../../kube/src/lookups.ts';
import {
  buildContext,
  compilePolicy,
  evaluatePolicies,
  type CelEvaluator,
  type EvaluateOptions,
  type Operation,
  type RuleResult,
} from '../../policy/src/index.ts';
import { vm as buildVm } from './builders.ts';

const V = API_VERSION;
export type Spec = VirtualMachinePolicy['spec'];

const cls = (
  name: string,
  hw: Partial<VirtualMachineClass['spec']['hardware']> = {},
  extra: Partial<VirtualMachineClass['spec']> = {},
  labels: Record<string, string> = {},
): VirtualMachineClass => ({
  apiVersion: V,
  kind: 'VirtualMachineClass',
  metadata: { name, labels },
  spec: { hardware: { cpus: 2, memory: '4Gi', ...hw }, ...extra },
});
const classes = [
  cls('small'),
  cls('big', { cpus: 32, memory: '128Gi' }, { reservation: 'Guaranteed' }, { tier: 'prod' }),
  cls('prod-medium', { cpus: 4, memory: '16Gi' }, { reservation: 'Guaranteed' }, { tier: 'prod' }),
  cls('gpu', {
    cpus: 8,
    memory: '64Gi',
    devices: { gpus: [{ name: 'g', deviceName: 'nvidia.com/A10' }] },
  }),
  cls('mem-8192mi', { memory: '8192Mi' }),
];
const images: ClusterVirtualMachineImage[] = ['ubuntu-24.04', 'ubuntu-22.04', 'windows-2022'].map(
  (name) => ({
    apiVersion: V,
    kind: 'ClusterVirtualMachineImage',
    metadata: { name },
    spec: { source: { http: { url: 'https://x/y' } }, size: '10Gi' },
  }),
);
const disks: VirtualMachineDisk[] = [
  {
    apiVersion: V,
    kind: 'VirtualMachineDisk',
    metadata: { name: 'data', namespace: 'dev' },
    spec: {
      size: '500Gi',
      storageClassName: 'ceph',
      accessModes: ['ReadWriteMany'],
      volumeMode: 'Block',
    },
  },
];
export const lookups = (
  exceptions: VirtualMachinePolicyException[] = [],
): ReturnType<typeof staticLookups> =>
  staticLookups({
    namespaces: [
      { metadata: { name: 'dev', labels: { 'kubernetes.io/metadata.name': 'dev', tier: 'dev' } } },
      {
        metadata: {
          name: 'prod',
          labels: { 'kubernetes.io/metadata.name': 'prod', tier: 'production' },
        },
      },
      {
        metadata: {
          name: 'ml',
          labels: { 'kubernetes.io/metadata.name': 'ml', 'vmplane.io/workload': 'ml' },
        },
      },
    ],
    classes,
    clusterImages: images,
    disks,
    exceptions,
  });

/** The VM these tests start from: web in dev, a small class, a cluster image, one boot disk. */
export function vm(
  spec: Partial<VirtualMachine['spec']> = {},
  meta: Partial<VirtualMachine['metadata']> = {},
): VirtualMachine {
  return buildVm(
    meta.name ?? 'web',
    {
      className: 'small',
      image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
      bootDisk: {
        size: '20Gi',
        storageClassName: 'local',
        accessModes: ['ReadWriteOnce'],
        volumeMode: 'Filesystem',
      },
      powerState: 'PoweredOn',
      ...spec,
    },
    { namespace: 'dev', labels: { 'vmplane.io/owner': 'team-a' }, ...meta },
  );
}

export function policy(spec: Partial<Spec>, name = 'p'): VirtualMachinePolicy {
  return {
    apiVersion: V,
    kind: 'VirtualMachinePolicy',
    metadata: { name, generation: 1 },
    spec: { validationActions: ['Deny'], ...spec } as Spec,
  };
}

/** run(policies, vm, opts): the rule results of evaluating the policies in this engine. */
export function policyRunner(engine: CelEvaluator) {
  return async function run(
    p: VirtualMachinePolicy | VirtualMachinePolicy[],
    object: VirtualMachine | undefined,
    opts: {
      op?: Operation;
      old?: VirtualMachine;
      exceptions?: VirtualMachinePolicyException[];
      now?: number;
      user?: string;
      skipRules?: EvaluateOptions['skipRules'];
    } = {},
  ): Promise<RuleResult[]> {
    const l = lookups(opts.exceptions);
    const ctx = buildContext(
      {
        operation: opts.op ?? 'CREATE',
        ...(object ? { object } : {}),
        ...(opts.old ? { oldObject: opts.old } : {}),
        namespace: (object ?? opts.old)?.metadata.namespace ?? '',
        userInfo: { username: opts.user ?? 'alice', groups: ['devs'] },
      },
      l,
    );
    const compiled = await Promise.all(
      (Array.isArray(p) ? p : [p]).map((x) => compilePolicy(engine, x)),
    );
    return evaluatePolicies(engine, compiled, l.exceptions(), ctx, {
      now: opts.now ?? Date.parse('2026-11-22T00:00:00Z'),
      ...(opts.skipRules ? { skipRules: opts.skipRules } : {}),
    });
  };
}

export const results = (rs: RuleResult[]): string[] => rs.map((r) => `${r.rule}:${r.result}`);
