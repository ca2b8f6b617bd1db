// Everything the admission decisions may look up. In the server these come from informer caches;
// in unit tests from plain arrays (staticLookups). Decisions never call the API server.
import type { V1Namespace, V1StorageClass } from '@kubernetes/client-node';
import type {
  ClusterVirtualMachineImage,
  StorageProfile,
  VirtualMachine,
  VirtualMachineClass,
  VirtualMachineDisk,
  VirtualMachineImage,
  VirtualMachinePolicy,
  VirtualMachinePolicyException,
} from '../../api/generated/types.ts';
import type { ClaimPropertySet } from '../../api/src/provisioners.ts';

export type AnyImage = VirtualMachineImage | ClusterVirtualMachineImage;
export type ImageKind = 'VirtualMachineImage' | 'ClusterVirtualMachineImage';

export interface Lookups {
  namespace(name: string): V1Namespace | undefined;
  classes(): VirtualMachineClass[];
  vmClass(name: string): VirtualMachineClass | undefined;
  namespacedImages(namespace: string): VirtualMachineImage[];
  clusterImages(): ClusterVirtualMachineImage[];
  storageClasses(): V1StorageClass[];
  storageProfile(name: string): StorageProfile | undefined;
  disk(namespace: string, name: string): VirtualMachineDisk | undefined;
  disks(namespace?: string): VirtualMachineDisk[];
  vms(namespace?: string): VirtualMachine[];
  policies(): VirtualMachinePolicy[];
  exceptions(namespace?: string): VirtualMachinePolicyException[];
}

export interface LookupData {
  namespaces?: V1Namespace[];
  classes?: VirtualMachineClass[];
  images?: VirtualMachineImage[];
  clusterImages?: ClusterVirtualMachineImage[];
  storageClasses?: V1StorageClass[];
  storageProfiles?: StorageProfile[];
  disks?: VirtualMachineDisk[];
  vms?: VirtualMachine[];
  policies?: VirtualMachinePolicy[];
  exceptions?: VirtualMachinePolicyException[];
}

/** Lookups over fixed data, for unit tests and the offline policy tools. */
export function staticLookups(d: LookupData): Lookups {
  return {
    namespace: (n) => d.namespaces?.find((x) => x.metadata?.name === n),
    classes: () => d.classes ?? [],
    vmClass: (n) => d.classes?.find((c) => c.metadata.name === n),
    namespacedImages: (ns) => (d.images ?? []).filter((i) => i.metadata.namespace === ns),
    clusterImages: () => d.clusterImages ?? [],
    storageClasses: () => d.storageClasses ?? [],
    storageProfile: (n) => d.storageProfiles?.find((p) => p.metadata.name === n),
    disk: (ns, n) => d.disks?.find((x) => x.metadata.namespace === ns && x.metadata.name === n),
    disks: (ns) => (d.disks ?? []).filter((x) => ns === undefined || x.metadata.namespace === ns),
    vms: (ns) => (d.vms ?? []).filter((x) => ns === undefined || x.metadata.namespace === ns),
    policies: () => d.policies ?? [],
    exceptions: (ns) =>
      (d.exceptions ?? []).filter((x) => ns === undefined || x.metadata.namespace === ns),
  };
}

export function storageClassInfo(sc: V1StorageClass): StorageClassInfo {
  return {
    name: sc.metadata?.name ?? '',
    provisioner: sc.provisioner,
    parameters: sc.parameters ?? {},
    annotations: sc.metadata?.annotations ?? {},
    creationTimestamp: sc.metadata?.creationTimestamp
      ? new Date(sc.metadata.creationTimestamp).toISOString()
      : '',
  };
}

export function storageProfileInfo(p: StorageProfile | undefined): StorageProfileInfo | undefined {
  if (!p) return undefined;
  return {
    name: p.metadata.name ?? '',
    specSets: p.spec?.claimPropertySets,
    statusSets: p.status?.claimPropertySets,
  };
}

export function findImage(
  lookups: Lookups,
  kind: ImageKind,
  namespace: string,
  name: string,
): AnyImage | undefined {
  return kind === 'VirtualMachineImage'
    ? lookups.namespacedImages(namespace).find((i) => i.metadata.name === name)
    : lookups.clusterImages().find((i) => i.metadata.name === name);
}

/** What the storage decisions need of a StorageClass. */
export interface StorageClassInfo {
  name: string;
  provisioner: string;
  parameters?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
}

/** What the storage decisions need of a StorageProfile. */
export interface StorageProfileInfo {
  name: string;
  specSets?: ClaimPropertySet[];
  statusSets?: ClaimPropertySet[];
}

/**
 * Lookups with disks read live added: a disk created a moment ago that the cache has not seen
 * yet (one `kubectl apply` with a disk and the VM using it) is found all the same.
 */
export function withDisks(lookups: Lookups, extra: VirtualMachineDisk[]): Lookups {
  if (!extra.length) return lookups;
  const inNs = (ns: string | undefined): VirtualMachineDisk[] =>
    extra.filter((x) => ns === undefined || x.metadata.namespace === ns);
  const overrides: Partial<Lookups> = {
    disk: (ns, n) =>
      lookups.disk(ns, n) ??
      extra.find((x) => x.metadata.namespace === ns && x.metadata.name === n),
    disks: (ns) => [
      ...lookups.disks(ns),
      ...inNs(ns).filter((x) => !lookups.disk(x.metadata.namespace ?? '', x.metadata.name ?? '')),
    ],
  };
  return new Proxy(lookups, {
    get(target, prop) {
      const own = overrides[prop as keyof Lookups];
      if (own) return own;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
