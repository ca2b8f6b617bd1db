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
