// What a VirtualMachineService becomes on the cluster, decided from the objects alone: a Service
// of the same name without a selector (vmplane's: label and controlling owner reference), and
// EndpointSlices with one endpoint per selected VM that has a pod-network address, ready when the
// VM is Ready (as vm-operator does for vSphere's VM Service). The reconciler only writes these.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type {
  VirtualMachine,
  VirtualMachineService,
  VirtualMachineServiceStatus,
} from '../../../api/generated/types.ts';
import { API_VERSION, GROUP, Labels, MANAGER, VmConditions } from '../../../api/src/wellknown.ts';

/** On the Service and EndpointSlices: the VirtualMachineService they were written for. */
export const VM_SERVICE_LABEL = `${GROUP}/vm-service`;
/** EndpointSlice labels Kubernetes defines: the Service, and who manages the slice. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const SLICE_MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const SLICE_MANAGER = 'vmplane.io';
/** Endpoints per EndpointSlice (Kubernetes' own controller's default). */
export const ENDPOINTS_PER_SLICE = 100;

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const isIPv4 = (a: string | undefined): a is string =>
  !!a && IPV4.test(a) && a.split('.').every((p) => Number(p) <= 255);

function ownerOf(svc: VirtualMachineService): object[] {
  return svc.metadata.uid
    ? [
        {
          apiVersion: API_VERSION,
          kind: 'VirtualMachineService',
          name: svc.metadata.name,
          uid: svc.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]
    : [];
}

const labelsOf = (svc: VirtualMachineService): Record<string, string> => ({
  [Labels.managedBy]: MANAGER,
  [VM_SERVICE_LABEL]: svc.metadata.name ?? '',
});

export function desiredService(svc: VirtualMachineService): V1Service {
  const type = svc.spec.type ?? 'ClusterIP';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: svc.metadata.name ?? '',
      namespace: svc.metadata.namespace ?? '',
      labels: labelsOf(svc),
      ownerReferences: ownerOf(svc) as never,
    },
    spec: {
      type,
      ports: svc.spec.ports.map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        protocol: p.protocol ?? 'TCP',
        port: p.port,
        targetPort: p.targetPort as never,
        ...(p.nodePort !== undefined && type !== 'ClusterIP' ? { nodePort: p.nodePort } : {}),
      })),
      ...(svc.spec.loadBalancerIP && type === 'LoadBalancer'
        ? { loadBalancerIP: svc.spec.loadBalancerIP }
        : {}),
    },
  };
}

/** Whether the VM's Ready condition is True. */
export const isReady = (vm: VirtualMachine): boolean =>
  !!vm.status?.conditions?.some((c) => c.type === VmConditions.Ready && c.status === 'True');

/**
 * The VM's pod-network IPv4 address: the status entry of its pod-network interface (the one
 * without a network; `default` when it lists none). status.primaryIP (the first address of any
 * interface) stands in only when the pod interface is the VM's one interface and has no entry: on
 * a VM with L2 interfaces it may be an L2 address. A VM only on L2 networks has none: a Service's
 * traffic arrives over the pod network.
 */
export function podAddress(vm: VirtualMachine): string | undefined {
  const listed = vm.spec.network?.interfaces ?? [];
  const pod = listed.length ? listed.find((i) => !i.network)?.name : 'default';
  if (!pod) return undefined;
  const entry = vm.status?.interfaces?.find((s) => s.name === pod);
  if (entry) return entry.ipAddresses?.find(isIPv4);
  return listed.length <= 1 ? [vm.status?.primaryIP].find(isIPv4) : undefined;
}

/** Whether every label of the selector is on the VM (an empty selector selects none). */
export function selects(svc: VirtualMachineService, vm: VirtualMachine): boolean {
  const sel = Object.entries(svc.spec.selector ?? {});
  return (
    sel.length > 0 &&
    vm.metadata.namespace === svc.metadata.namespace &&
    sel.every(([k, v]) => vm.metadata.labels?.[k] === v)
  );
}

export const sliceName = (svc: string, index: number): string => `${svc}-vmp-${index}`;

/** The endpoints (VM name order), in slices of ENDPOINTS_PER_SLICE; always at least one slice. */
export function desiredSlices(
  svc: VirtualMachineService,
  vms: readonly VirtualMachine[],
): V1EndpointSlice[] {
  const name = svc.metadata.name ?? '';
  const endpoints = vms
    .filter((vm) => selects(svc, vm) && podAddress(vm))
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))
    .map((vm) => {
      const ready = isReady(vm);
      return {
        addresses: [podAddress(vm) as string],
        conditions: { ready, serving: ready, terminating: false },
        targetRef: {
          apiVersion: API_VERSION,
          kind: 'VirtualMachine',
          namespace: vm.metadata.namespace ?? '',
          name: vm.metadata.name ?? '',
          ...(vm.metadata.uid ? { uid: vm.metadata.uid } : {}),
        },
        ...(vm.status?.nodeName ? { nodeName: vm.status.nodeName } : {}),
      };
    });
  const ports = svc.spec.ports.map((p) => ({
    name: p.name ?? '',
    protocol: p.protocol ?? 'TCP',
    port: p.targetPort,
  }));
  const count = Math.max(1, Math.ceil(endpoints.length / ENDPOINTS_PER_SLICE));
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: sliceName(name, i),
      namespace: svc.metadata.namespace ?? '',
      labels: {
        ...labelsOf(svc),
        [SERVICE_NAME_LABEL]: name,
        [SLICE_MANAGED_BY_LABEL]: SLICE_MANAGER,
      },
      ownerReferences: ownerOf(svc) as never,
    },
    addressType: 'IPv4',
    endpoints: endpoints.slice(i * ENDPOINTS_PER_SLICE, (i + 1) * ENDPOINTS_PER_SLICE),
    ports,
  }));
}

/** Status: the Service's addresses copied back, endpoint counts, and Ready with what is in the way. */
export function serviceStatus(
  svc: VirtualMachineService,
  service: V1Service | undefined,
  slices: readonly V1EndpointSlice[],
  problem: { reason: string; message: string } | undefined,
): Omit<VirtualMachineServiceStatus, 'conditions'> & {
  condition: { status: 'True' | 'False'; reason: string; message: string };
} {
  const endpoints = slices.flatMap((s) => s.endpoints);
  const ready = endpoints.filter((e) => e.conditions?.ready).length;
  const ingress = (service?.status?.loadBalancer?.ingress ?? []).map((i) => ({
    ...(i.ip ? { ip: i.ip } : {}),
    ...(i.hostname ? { hostname: i.hostname } : {}),
  }));
  return {
    observedGeneration: svc.metadata.generation ?? 0,
    ...(service?.spec?.clusterIP ? { clusterIP: service.spec.clusterIP } : {}),
    ...(ingress.length ? { loadBalancer: { ingress } } : {}),
    endpoints: problem ? 0 : endpoints.length,
    readyEndpoints: problem ? 0 : ready,
    condition: problem
      ? { status: 'False', ...problem }
      : {
          status: 'True',
          reason: 'ServiceWritten',
          message: `Service ${svc.metadata.name}: ${ready} of ${endpoints.length} selected VMs ready`,
        },
  };
}
