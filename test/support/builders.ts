// Object builders shared by the tests: one way to write a VM, a class, an image or a disk, with
// only what a test cares about given.
import type {
  VirtualMachine,
  VirtualMachineClass,
  VirtualMachineDisk,
  VirtualMachineImage,
  ClusterVirtualMachineImage,
} from '../../api/generated/types.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import type { AdmissionRequest, AdmissionReview } from '../../webhooks/src/admission.ts';

export { API_VERSION };

type Meta = {
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [k: string]: unknown;
};

/** A VirtualMachine named `name` in `meta.namespace` (team-a by default) with `spec`. */
export function vm(
  name: string,
  spec: Partial<VirtualMachine['spec']> = {},
  meta: Meta = {},
): VirtualMachine {
  return {
    apiVersion: API_VERSION,
    kind: 'VirtualMachine',
    metadata: { name, namespace: 'team-a', ...meta },
    spec: spec as VirtualMachine['spec'],
  };
}

/** A VirtualMachineClass with `cpus` vCPUs and `memory`. */
export function vmClass(
  name: string,
  cpus = 2,
  memory = '4Gi',
  spec: Partial<VirtualMachineClass['spec']> = {},
): VirtualMachineClass {
  return {
    apiVersion: API_VERSION,
    kind: 'VirtualMachineClass',
    metadata: { name },
    spec: { hardware: { cpus, memory }, ...spec } as VirtualMachineClass['spec'],
  };
}

/** A ClusterVirtualMachineImage served over http. */
export function clusterImage(name: string, size = '10Gi'): ClusterVirtualMachineImage {
  return {
    apiVersion: API_VERSION,
    kind: 'ClusterVirtualMachineImage',
    metadata: { name },
    spec: { source: { http: { url: `https://images.example/${name}.img` } }, size },
  };
}

/** A VirtualMachineImage in `namespace`, served over http. */
export function image(name: string, namespace = 'team-a', size = '10Gi'): VirtualMachineImage {
  return {
    apiVersion: API_VERSION,
    kind: 'VirtualMachineImage',
    metadata: { name, namespace },
    spec: { source: { http: { url: `https://images.example/${name}.img` } }, size },
  };
}

/** A VirtualMachineDisk of `size` in `namespace`. */
export function disk(
  name: string,
  size = '10Gi',
  spec: Partial<VirtualMachineDisk['spec']> = {},
  namespace = 'team-a',
): VirtualMachineDisk {
  return {
    apiVersion: API_VERSION,
    kind: 'VirtualMachineDisk',
    metadata: { name, namespace },
    spec: { size, ...spec } as VirtualMachineDisk['spec'],
  };
}

/** A DataVolume spec CDI accepts: a blank 1Gi volume. */
export const BLANK_DATA_VOLUME_SPEC = {
  source: { blank: {} },
  storage: { resources: { requests: { storage: '1Gi' } } },
};

/**
 * The DataVolumes KubeVirt makes from a KubeVirt VM's dataVolumeTemplates (the test plays the
 * engine): each template's name, labels, annotations and spec, in the VM's namespace, owned by it.
 */
export function dataVolumesFromTemplates(kv: {
  metadata: { name?: string; namespace?: string; uid?: string };
  spec?: { dataVolumeTemplates?: { metadata?: Record<string, unknown>; spec?: unknown }[] };
}): Record<string, unknown>[] {
  return (kv.spec?.dataVolumeTemplates ?? []).map((t) => ({
    apiVersion: 'cdi.kubevirt.io/v1beta1',
    kind: 'DataVolume',
    metadata: {
      ...t.metadata,
      namespace: kv.metadata.namespace,
      ownerReferences: [
        {
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachine',
          name: kv.metadata.name,
          uid: kv.metadata.uid,
          controller: true,
        },
      ],
    },
    spec: t.spec ?? BLANK_DATA_VOLUME_SPEC,
  }));
}

/**
 * An admission.k8s.io/v1 AdmissionReview as the API server sends it: by default the CREATE of a
 * vmplane VirtualMachine; `request` gives the rest (uid, object, namespace…) and overrides.
 */
export function admissionReview(
  request: Partial<AdmissionRequest> & Record<string, unknown>,
): AdmissionReview {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'uid-1',
      kind: { group: 'vmplane.io', version: 'v1alpha1', kind: 'VirtualMachine' },
      resource: { group: 'vmplane.io', version: 'v1alpha1', resource: 'virtualmachines' },
      operation: 'CREATE',
      ...request,
    },
  };
}
