// vmplane's kinds (and the KubeVirt instance the console talks to) as Headlamp resource classes:
// each gets list/get hooks, watch, patch, delete and RBAC checks from KubeObject.
import { K8s } from '@kinvolk/headlamp-plugin/lib';
import type {
  ClusterVirtualMachineImage as ClusterImageJson,
  PolicyReport as PolicyReportJson,
  StorageProfile as StorageProfileJson,
  VirtualMachine as VmJson,
  VirtualMachineClass as ClassJson,
  VirtualMachineDisk as DiskJson,
  VirtualMachineImage as ImageJson,
  VirtualMachinePolicy as PolicyJson,
} from '../../api/generated/types.ts';
import type { NetworkView } from '../../api/src/network-view.ts';
import { API_VERSION, GROUP } from '../../api/src/wellknown.ts';

const { KubeObject } = K8s.cluster;
type KubeObjectInterface = K8s.cluster.KubeObjectInterface;

export { API_VERSION, GROUP };

/** Route names registered in index.tsx; detailsRoute makes Headlamp's links point at our pages. */
export const ROUTES = {
  vms: 'vmplane-vms',
  vm: 'vmplane-vm',
  create: 'vmplane-vm-create',
  disks: 'vmplane-disks',
  disk: 'vmplane-disk',
  images: 'vmplane-images',
  image: 'vmplane-image',
  clusterImage: 'vmplane-cluster-image',
  classes: 'vmplane-classes',
  class: 'vmplane-class',
  profiles: 'vmplane-storageprofiles',
  profile: 'vmplane-storageprofile',
  policies: 'vmplane-policies',
  policy: 'vmplane-policy',
  networks: 'vmplane-networks',
} as const;

type Spec<T extends { spec: unknown }> = T['spec'];

/** A vmplane kind: spec and status read from the object. */
class VmplaneObject<
  T extends KubeObjectInterface & { spec: unknown; status?: unknown }
> extends KubeObject<T> {
  get spec(): T['spec'] {
    return this.jsonData.spec;
  }
  get status(): T['status'] {
    return this.jsonData.status;
  }
}
type Status<T extends { status?: unknown }> = NonNullable<T['status']>;

export interface VmInterface extends KubeObjectInterface {
  spec: Spec<VmJson>;
  status?: Status<VmJson>;
}
export class VirtualMachine extends VmplaneObject<VmInterface> {
  static kind = 'VirtualMachine';
  static apiName = 'virtualmachines';
  static apiVersion = API_VERSION;
  static isNamespaced = true;
  static get detailsRoute() {
    return ROUTES.vm;
  }
  static get listRoute() {
    return ROUTES.vms;
  }
}

export interface ClassInterface extends KubeObjectInterface {
  spec: Spec<ClassJson>;
  status?: Status<ClassJson>;
}
export class VirtualMachineClass extends VmplaneObject<ClassInterface> {
  static kind = 'VirtualMachineClass';
  static apiName = 'virtualmachineclasses';
  static apiVersion = API_VERSION;
  static isNamespaced = false;
  static get detailsRoute() {
    return ROUTES.class;
  }
}

export interface ImageInterface extends KubeObjectInterface {
  spec: Spec<ImageJson>;
  status?: Status<ImageJson>;
}
export class VirtualMachineImage extends VmplaneObject<ImageInterface> {
  static kind = 'VirtualMachineImage';
  static apiName = 'virtualmachineimages';
  static apiVersion = API_VERSION;
  static isNamespaced = true;
  static get detailsRoute() {
    return ROUTES.image;
  }
}

export interface ClusterImageInterface extends KubeObjectInterface {
  spec: Spec<ClusterImageJson>;
  status?: Status<ClusterImageJson>;
}
export class ClusterVirtualMachineImage extends VmplaneObject<ClusterImageInterface> {
  static kind = 'ClusterVirtualMachineImage';
  static apiName = 'clustervirtualmachineimages';
  static apiVersion = API_VERSION;
  static isNamespaced = false;
  static get detailsRoute() {
    return ROUTES.clusterImage;
  }
}

export interface NetworkInterface extends KubeObjectInterface {
  spec: NonNullable<NetworkView['spec']>;
  status?: NetworkView['status'];
}
/** A Network (cluster-scoped): the pod network or an L2 segment, with its address management. */
export class Network extends VmplaneObject<NetworkInterface> {
  static kind = 'Network';
  static apiName = 'networks';
  static apiVersion = API_VERSION;
  static isNamespaced = false;
  static get listRoute() {
    return ROUTES.networks;
  }
}

export interface DiskInterface extends KubeObjectInterface {
  spec: Spec<DiskJson>;
  status?: Status<DiskJson>;
}
export class VirtualMachineDisk extends VmplaneObject<DiskInterface> {
  static kind = 'VirtualMachineDisk';
  static apiName = 'virtualmachinedisks';
  static apiVersion = API_VERSION;
  static isNamespaced = true;
  static get detailsRoute() {
    return ROUTES.disk;
  }
}

export interface StorageProfileInterface extends KubeObjectInterface {
  spec: Spec<StorageProfileJson>;
  status?: Status<StorageProfileJson>;
}
export class StorageProfile extends VmplaneObject<StorageProfileInterface> {
  static kind = 'StorageProfile';
  static apiName = 'storageprofiles';
  static apiVersion = API_VERSION;
  static isNamespaced = false;
  static get detailsRoute() {
    return ROUTES.profile;
  }
}

export interface PolicyInterface extends KubeObjectInterface {
  spec: Spec<PolicyJson>;
  status?: Status<PolicyJson>;
}
export class VirtualMachinePolicy extends VmplaneObject<PolicyInterface> {
  static kind = 'VirtualMachinePolicy';
  static apiName = 'virtualmachinepolicies';
  static apiVersion = API_VERSION;
  static isNamespaced = false;
  static get detailsRoute() {
    return ROUTES.policy;
  }
}

export interface PolicyReportInterface extends KubeObjectInterface {
  scope?: PolicyReportJson['scope'];
  summary?: PolicyReportJson['summary'];
  results?: PolicyReportJson['results'];
}
export class PolicyReport extends KubeObject<PolicyReportInterface> {
  static kind = 'PolicyReport';
  static apiName = 'policyreports';
  static apiVersion = 'wgpolicyk8s.io/v1alpha2';
  static isNamespaced = true;
}

/** The path of a namespaced vmplane object, for raw requests (subresources, dry runs). */
export function vmPath(namespace: string, name?: string): string {
  return `/apis/${API_VERSION}/namespaces/${encodeURIComponent(namespace)}/virtualmachines${
    name ? `/${encodeURIComponent(name)}` : ''
  }`;
}
