// What every step of the VM reconcile reads: the paths the controller watches, the informers over
// them, the manager (its client, its events) and the translation options; and where the objects a
// VM makes live. The disk controller shares the paths.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { V1beta1DataVolume } from '@kubevirt-ui-ext/kubevirt-api/containerized-data-importer';
import type {
  V1VirtualMachine,
  V1VirtualMachineInstance,
} from '@kubevirt-ui-ext/kubevirt-api/kubevirt';
import type {
  ClusterVirtualMachineImage,
  VirtualMachine,
  VirtualMachineClass,
  VirtualMachineDisk,
  VirtualMachineImage,
} from '../../../api/generated/types.ts';
import type { ResilientInformer } from '../../../kube/src/informer.ts';
import type { Manager } from '../../../kube/src/manager.ts';
import { isEstablished } from '../../../kube/src/conditions.ts';
import { Selectors } from '../../../api/src/wellknown.ts';
import type { KubeVirtCr } from '../../../decisions/src/kubevirt-install.ts';
import type { TranslationOptions } from './translate.ts';
import { NETWORKS_PATH, type NetworkLike } from '../network/types.ts';

const VMPLANE = '/apis/vmplane.io/v1alpha1';
export const PATHS = {
  vms: `${VMPLANE}/virtualmachines`,
  classes: `${VMPLANE}/virtualmachineclasses`,
  images: `${VMPLANE}/virtualmachineimages`,
  clusterImages: `${VMPLANE}/clustervirtualmachineimages`,
  disks: `${VMPLANE}/virtualmachinedisks`,
  crds: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  kvVms: '/apis/kubevirt.io/v1/virtualmachines',
  kvVmis: '/apis/kubevirt.io/v1/virtualmachineinstances',
  dataVolumes: '/apis/cdi.kubevirt.io/v1beta1/datavolumes',
  kubevirts: '/apis/kubevirt.io/v1/kubevirts',
  networks: NETWORKS_PATH,
} as const;

export const KUBEVIRT_CRD = 'virtualmachines.kubevirt.io';
export const CDI_CRD = 'datavolumes.cdi.kubevirt.io';

/** What every step of the VM reconcile reads: the manager, the informers and the options. */
export interface VmContext {
  manager: Manager;
  options: TranslationOptions | undefined;
  vms: ResilientInformer<VirtualMachine & KubernetesObject>;
  classes: ResilientInformer<VirtualMachineClass & KubernetesObject>;
  images: ResilientInformer<VirtualMachineImage & KubernetesObject>;
  clusterImages: ResilientInformer<ClusterVirtualMachineImage & KubernetesObject>;
  disks: ResilientInformer<VirtualMachineDisk & KubernetesObject>;
  crds: ResilientInformer<KubernetesObject>;
  kvVms: ResilientInformer<V1VirtualMachine & KubernetesObject>;
  kvVmis: ResilientInformer<V1VirtualMachineInstance & KubernetesObject>;
  dataVolumes: ResilientInformer<V1beta1DataVolume & KubernetesObject>;
  kubevirts: ResilientInformer<KubeVirtCr & KubernetesObject>;
  networks: ResilientInformer<NetworkLike & KubernetesObject>;
}

export function contextOf(manager: Manager, options: TranslationOptions | undefined): VmContext {
  return {
    manager,
    options,
    vms: manager.informer(PATHS.vms),
    classes: manager.informer(PATHS.classes),
    images: manager.informer(PATHS.images),
    clusterImages: manager.informer(PATHS.clusterImages),
    disks: manager.informer(PATHS.disks),
    crds: manager.informer(PATHS.crds),
    kvVms: manager.informer(PATHS.kvVms, { optional: true, labelSelector: Selectors.vm }),
    kvVmis: manager.informer(PATHS.kvVmis, { optional: true, labelSelector: Selectors.vm }),
    dataVolumes: manager.informer(PATHS.dataVolumes, {
      optional: true,
      labelSelector: Selectors.managed,
    }),
    kubevirts: manager.informer(PATHS.kubevirts, { optional: true }),
    networks: manager.informer(PATHS.networks, { optional: true }),
  };
}

/** Whether the CRD of this name is there and established (KubeVirt's, CDI's). */
export function established(
  crds: { get(name: string): KubernetesObject | undefined },
  name: string,
): boolean {
  return isEstablished(crds.get(name));
}

/** The vmplane VM itself. */
export const vmPath = (namespace: string, name: string): string =>
  `${VMPLANE}/namespaces/${namespace}/virtualmachines/${name}`;
export const kvCollection = (namespace: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${namespace}/virtualmachines`;
export const dvCollection = (namespace: string): string =>
  `/apis/cdi.kubevirt.io/v1beta1/namespaces/${namespace}/datavolumes`;
