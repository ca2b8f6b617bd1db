// The objects benchmarks evaluate against: one class, one image, one StorageClass, a namespace,
// and N policies that all match and pass (the common case: most requests are fine).
import type { V1Namespace, V1StorageClass } from '@kubernetes/client-node';
import type {
  ClusterVirtualMachineImage,
  VirtualMachine,
  VirtualMachineClass,
  VirtualMachinePolicy,
} from '../api/generated/types.ts';
import { API_VERSION } from '../api/src/wellknown.ts';

const V = API_VERSION;

export function benchWorld(): {
  namespaces: V1Namespace[];
  classes: VirtualMachineClass[];
  clusterImages: ClusterVirtualMachineImage[];
  storageClasses: V1StorageClass[];
} {
  return {
    namespaces: [
      {
        metadata: {
          name: 'bench',
          labels: { 'kubernetes.io/metadata.name': 'bench', tier: 'production' },
        },
      },
    ],
    classes: [
      {
        apiVersion: V,
        kind: 'VirtualMachineClass',
        metadata: { name: 'small' },
        spec: { hardware: { cpus: 2, memory: '4Gi' }, reservation: 'Guaranteed' },
      },
    ],
    clusterImages: [
      {
        apiVersion: V,
        kind: 'ClusterVirtualMachineImage',
        metadata: { name: 'ubuntu-24.04' },
        spec: { source: { http: { url: 'https://x/u.img' } }, size: '10Gi' },
      },
    ],
    storageClasses: [
      {
        metadata: {
          name: 'local',
          annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
        },
        provisioner: 'rancher.io/local-path',
      },
    ],
  };
}

/** Rules a ValidatingAdmissionPolicy can express too (no lookups), used by the end-to-end comparison. */
export const OBJECT_RULES: { name: string; expression: string }[] = [
  { name: 'owner', expression: "has(object.metadata.labels) && 'owner' in object.metadata.labels" },
  {
    name: 'power',
    expression:
      "!has(object.spec.powerState) || object.spec.powerState in ['PoweredOn', 'PoweredOff']",
  },
  {
    name: 'image',
    expression: "!has(object.spec.image) || object.spec.image.name.startsWith('ubuntu-')",
  },
  { name: 'disks', expression: '!has(object.spec.disks) || size(object.spec.disks) <= 4' },
];

/** N policies, alternating built-in rules and CEL validations, all matching and passing. */
export function benchPolicies(n: number): VirtualMachinePolicy[] {
  return Array.from({ length: n }, (_, i): VirtualMachinePolicy => ({
    apiVersion: V,
    kind: 'VirtualMachinePolicy',
    metadata: { name: `bench-${i}`, uid: `uid-${i}`, generation: 1 },
    spec:
      i % 2 === 0
        ? {
            validationActions: ['Deny'],
            rules: {
              maxCPUs: 64,
              maxMemory: '256Gi',
              allowedImages: ['ubuntu-*'],
              requiredLabels: [{ key: 'owner' }],
              allowedPowerStates: ['PoweredOn', 'PoweredOff'],
            },
          }
        : {
            validationActions: ['Deny'],
            validations: [
              { expression: OBJECT_RULES[i % OBJECT_RULES.length]?.expression ?? 'true' },
              {
                expression:
                  "quantity(vmClass.spec.hardware.memory).compareTo(quantity('256Gi')) <= 0",
              },
            ],
          },
  }));
}

export function benchVm(name: string, namespace = 'bench'): VirtualMachine {
  return {
    apiVersion: V,
    kind: 'VirtualMachine',
    metadata: { name, namespace, labels: { owner: 'bench' } },
    spec: {
      className: 'small',
      image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
      bootDisk: {
        size: '20Gi',
        storageClassName: 'local',
        accessModes: ['ReadWriteOnce'],
        volumeMode: 'Filesystem',
      },
      powerState: 'PoweredOn',
    },
  };
}

/** One policy in this many of the end-to-end ones also caps vCPUs, a rule that reads the VM's class. */
export const CLASS_RULE_EVERY = 10;

/** The rules of an end-to-end policy a ValidatingAdmissionPolicy can hold as they are (no lookups). */
function e2eObjectRules(i: number): { name: string; expression: string }[] {
  const a = OBJECT_RULES[i % OBJECT_RULES.length];
  const b = OBJECT_RULES[(i + 1) % OBJECT_RULES.length];
  return [a, b].filter((r): r is { name: string; expression: string } => !!r);
}

/**
 * The end-to-end policies (e2e-0 …): mostly rules the API server can enforce itself (two CEL
 * validations over the object, required labels, allowed power states); one in CLASS_RULE_EVERY
 * also caps vCPUs, which reads the VM's class and so stays in the webhook. All match and pass.
 */
export function e2ePolicies(n: number): VirtualMachinePolicy[] {
  return Array.from({ length: n }, (_, i): VirtualMachinePolicy => ({
    apiVersion: V,
    kind: 'VirtualMachinePolicy',
    metadata: { name: `e2e-${i}` },
    spec: {
      validationActions: ['Deny'],
      rules: {
        requiredLabels: [{ key: 'owner' }],
        allowedPowerStates: ['PoweredOn', 'PoweredOff'],
        ...(i % CLASS_RULE_EVERY === CLASS_RULE_EVERY - 1 ? { maxCPUs: 64 } : {}),
      },
      validations: e2eObjectRules(i),
    },
  }));
}

/**
 * The hand-written floor of the end-to-end policies: for each, a ValidatingAdmissionPolicy and
 * binding (bench-vap-<i>) with its rules the API server can hold, written by hand as CEL (the
 * vCPU cap, which needs the class, has no VAP form).
 */
export function handWrittenVaps(n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => {
    const name = `bench-vap-${i}`;
    const rules = [
      { name: 'requiredLabels', expression: OBJECT_RULES[0]?.expression ?? 'true' },
      { name: 'allowedPowerStates', expression: OBJECT_RULES[1]?.expression ?? 'true' },
      ...e2eObjectRules(i),
    ];
    return [
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            resourceRules: [
              {
                apiGroups: ['vmplane.io'],
                apiVersions: ['v1alpha1'],
                operations: ['CREATE', 'UPDATE'],
                resources: ['virtualmachines'],
              },
            ],
          },
          validations: rules.map((r) => ({
            expression: r.expression,
            message: `policy "e2e-${i}" rule ${r.name}: failed`,
          })),
        },
      },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name },
        spec: { policyName: name, validationActions: ['Deny'] },
      },
    ];
  }).flat();
}
