// The small cluster the decisions unit tests (decisions/src/*.test.ts) share: three namespaces
// (one labelled for ML, one with a default class), classes, cluster and namespace images,
// StorageClasses, two disks (one attached to the VM "holder"), and builders for disks and VMs.
import type { V1Namespace, V1StorageClass } from '@kubernetes/client-node';
import type {
  ClusterVirtualMachineImage,
  VirtualMachine,
  VirtualMachineClass,
  VirtualMachineDisk,
  VirtualMachineImage,
} from '../../api/generated/types.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { staticLookups, type LookupData } from '../../kube/src/lookups.ts';
import { vm as buildVm } from './builders.ts';

const V = API_VERSION;
const ns = (
  name: string,
  labels: Record<string, string> = {},
  annotations: Record<string, string> = {},
): V1Namespace => ({
  metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels }, annotations },
});
const cls = (
  name: string,
  selector?: VirtualMachineClass['spec']['namespaceSelector'],
): VirtualMachineClass => ({
  apiVersion: V,
  kind: 'VirtualMachineClass',
  metadata: { name },
  spec: {
    hardware: { cpus: 2, memory: '4Gi' },
    ...(selector ? { namespaceSelector: selector } : {}),
  },
});
const cimg = (name: string, size?: string): ClusterVirtualMachineImage => ({
  apiVersion: V,
  kind: 'ClusterVirtualMachineImage',
  metadata: { name },
  spec: { source: { http: { url: 'https://x/y.img' } }, ...(size ? { size } : {}) },
});
const nimg = (namespace: string, name: string): VirtualMachineImage => ({
  apiVersion: V,
  kind: 'VirtualMachineImage',
  metadata: { name, namespace },
  spec: { source: { http: { url: 'https://x/y.img' } } },
});
const sclass = (name: string, provisioner: string, isDefault = false): V1StorageClass => ({
  metadata: {
    name,
    annotations: isDefault ? { 'storageclass.kubernetes.io/is-default-class': 'true' } : {},
  },
  provisioner,
});
export const disk = (
  namespace: string,
  name: string,
  spec: Partial<VirtualMachineDisk['spec']> = {},
): VirtualMachineDisk => ({
  apiVersion: V,
  kind: 'VirtualMachineDisk',
  metadata: { name, namespace },
  spec: { size: '10Gi', ...spec },
});
export const vm = (
  name: string,
  spec: Partial<VirtualMachine['spec']>,
  namespace = 'team-a',
): VirtualMachine => buildVm(name, { image: { name: 'ubuntu' }, ...spec }, { namespace });

/** The cluster the decisions see. */
export const world: LookupData = {
  namespaces: [
    ns('team-a'),
    ns('ml', { 'vmplane.io/workload': 'ml' }),
    ns('annotated', {}, { 'vmplane.io/default-class': 'best-effort-small' }),
  ],
  classes: [
    cls('best-effort-small'),
    cls('guaranteed-medium'),
    cls('gpu-large', { matchLabels: { 'vmplane.io/workload': 'ml' } }),
  ],
  clusterImages: [cimg('ubuntu', '10Gi'), cimg('fedora')],
  images: [nimg('team-a', 'team-base')],
  storageClasses: [
    sclass('local', 'rancher.io/local-path', true),
    sclass('ceph', 'rbd.csi.ceph.com'),
    sclass('vendor', 'block.csi.example.com'),
  ],
  disks: [disk('team-a', 'data'), disk('team-a', 'shared')],
  vms: [
    vm('holder', {
      className: 'best-effort-small',
      disks: [{ name: 'd', virtualMachineDiskName: 'shared' }],
    }),
  ],
};
/** The lookups (what the webhook reads from its informers) over that cluster. */
export const l = staticLookups(world);
