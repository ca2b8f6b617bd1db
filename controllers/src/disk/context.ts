// What every step of the disk reconcile reads (the manager and its informers) and the paths of a
// disk's objects.
import type { KubernetesObject, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { V1beta1DataVolume } from '@kubevirt-ui-ext/kubevirt-api/containerized-data-importer';
import type {
  ClusterVirtualMachineImage,
  VirtualMachine,
  VirtualMachineDisk,
  VirtualMachineImage,
} from '../../../api/generated/types.ts';
import type { ResilientInformer } from '../../../kube/src/informer.ts';
import type { Manager } from '../../../kube/src/manager.ts';
import { CDI_CRD, PATHS } from '../vm/context.ts';
import { Selectors } from '../../../api/src/wellknown.ts';
import { isEstablished } from '../../../kube/src/conditions.ts';

export const PVCS = '/api/v1/persistentvolumeclaims';

export type Disk = VirtualMachineDisk & KubernetesObject;

export function isDeleting(o: { metadata: object }): boolean {
  return !!(o.metadata as { deletionTimestamp?: string }).deletionTimestamp;
}

export function diskPath(namespace: string, name: string): string {
  return `/apis/vmplane.io/v1alpha1/namespaces/${namespace}/virtualmachinedisks/${name}`;
}

/** What every step of the disk reconcile reads: the manager and the informers. */
export interface DiskContext {
  manager: Manager;
  disks: ResilientInformer<Disk>;
  vms: ResilientInformer<VirtualMachine & KubernetesObject>;
  images: ResilientInformer<VirtualMachineImage & KubernetesObject>;
  clusterImages: ResilientInformer<ClusterVirtualMachineImage & KubernetesObject>;
  crds: ResilientInformer<KubernetesObject>;
  pvcs: ResilientInformer<V1PersistentVolumeClaim & KubernetesObject>;
  dataVolumes: ResilientInformer<V1beta1DataVolume & KubernetesObject>;
}

export function contextOf(manager: Manager): DiskContext {
  return {
    manager,
    disks: manager.informer(PATHS.disks),
    vms: manager.informer(PATHS.vms),
    images: manager.informer(PATHS.images),
    clusterImages: manager.informer(PATHS.clusterImages),
    crds: manager.informer(PATHS.crds),
    pvcs: manager.informer(PVCS, { labelSelector: Selectors.managed }),
    dataVolumes: manager.informer(PATHS.dataVolumes, {
      optional: true,
      labelSelector: Selectors.managed,
    }),
  };
}

export function cdiInstalled(context: DiskContext): boolean {
  return isEstablished(context.crds.get(CDI_CRD));
}

/** The VM (not being deleted) that uses a disk. */
export function attachedTo(
  context: DiskContext,
  d: VirtualMachineDisk,
): VirtualMachine | undefined {
  const uses = (v: VirtualMachine): boolean =>
    v.metadata.namespace === d.metadata.namespace &&
    !isDeleting(v) &&
    !!v.spec.disks?.some((x) => x.virtualMachineDiskName === d.metadata.name);
  return (context.vms.list() as VirtualMachine[]).find(uses);
}

export const dvCollection = (ns: string): string =>
  `/apis/cdi.kubevirt.io/v1beta1/namespaces/${ns}/datavolumes`;
export const pvcCollection = (ns: string): string =>
  `/api/v1/namespaces/${ns}/persistentvolumeclaims`;
