// The context of one evaluation: the VM and the request, and what they resolve to (namespace,
// class, image, disks), from the lookups.
import type { V1Namespace } from '@kubernetes/client-node';
import type { VirtualMachine, VirtualMachineClass } from '../../api/generated/types.ts';
import { findImage, type AnyImage, type ImageKind, type Lookups } from '../../kube/src/lookups.ts';
import type { EvalContext, Operation, ResolvedDisk, VirtualMachineServiceLike } from './types.ts';

type Input = {
  operation: Operation;
  object?: VirtualMachine;
  oldObject?: VirtualMachine;
  namespace: string;
  userInfo?: { username?: string; groups?: string[] };
  dryRun?: boolean;
};

/** The image a VM names: of the kind it says, else its namespace's own first, then the cluster's. */
function resolveImage(
  spec: VirtualMachine['spec'] | undefined,
  ns: string,
  lookups: Lookups,
): AnyImage | undefined {
  if (!spec?.image) return undefined;
  const kinds: ImageKind[] = spec.image.kind
    ? [spec.image.kind]
    : ['VirtualMachineImage', 'ClusterVirtualMachineImage'];
  let image: AnyImage | undefined;
  for (const k of kinds) image ??= findImage(lookups, k, ns, spec.image.name);
  return image;
}

/** Every disk the VM would use, with its size and storage: the boot disk, then spec.disks. */
function resolveDisks(
  spec: VirtualMachine['spec'] | undefined,
  image: AnyImage | undefined,
  ns: string,
  lookups: Lookups,
): ResolvedDisk[] {
  const disks: ResolvedDisk[] = [];
  if (spec?.image) {
    const b = spec.bootDisk;
    disks.push({
      field: 'spec.bootDisk',
      size: b?.size ?? image?.spec.size,
      storageClassName: b?.storageClassName,
      accessModes: b?.accessModes,
    });
  }
  for (const [i, d] of (spec?.disks ?? []).entries()) {
    const field = `spec.disks[${i}]`;
    if (d.virtualMachineDiskName) {
      const existing = lookups.disk(ns, d.virtualMachineDiskName)?.spec;
      disks.push({
        field,
        diskName: d.virtualMachineDiskName,
        size: existing?.size,
        storageClassName: existing?.storageClassName,
        accessModes: existing?.accessModes,
      });
    } else {
      disks.push({
        field,
        size: d.size,
        storageClassName: d.storageClassName,
        accessModes: d.accessModes,
      });
    }
  }
  return disks;
}

/** Resolves everything a policy may look at for one request, from the lookups. */
export function buildContext(input: Input, lookups: Lookups): EvalContext {
  const vm = input.object ?? input.oldObject;
  const ns = input.namespace || vm?.metadata.namespace || '';
  const image = resolveImage(vm?.spec, ns, lookups);
  const namespaceObject = lookups.namespace(ns) as V1Namespace | undefined;
  const vmClass = vm?.spec.className
    ? (lookups.vmClass(vm.spec.className) as VirtualMachineClass | undefined)
    : undefined;
  const user = input.userInfo;
  return {
    operation: input.operation,
    ...(input.object ? { object: input.object } : {}),
    ...(input.oldObject ? { oldObject: input.oldObject } : {}),
    request: {
      operation: input.operation,
      namespace: ns,
      name: vm?.metadata.name ?? '',
      userInfo: { username: user?.username ?? '', groups: user?.groups ?? [] },
      dryRun: input.dryRun ?? false,
    },
    ...(namespaceObject ? { namespaceObject } : {}),
    ...(vmClass ? { vmClass } : {}),
    ...(image ? { image } : {}),
    disks: resolveDisks(vm?.spec, image, ns, lookups),
  };
}

/**
 * The context of a VirtualMachineService request: the service, its namespace and the request.
 * The VM fields stay empty (nothing VM-specific is evaluated on a service).
 */
export function buildServiceContext(
  input: {
    operation: Operation;
    object?: VirtualMachineServiceLike;
    oldObject?: VirtualMachineServiceLike;
    namespace: string;
    userInfo?: { username?: string; groups?: string[] };
    dryRun?: boolean;
  },
  lookups: Pick<Lookups, 'namespace'>,
): EvalContext {
  const svc = input.object ?? input.oldObject;
  const ns = input.namespace || svc?.metadata.namespace || '';
  const namespaceObject = lookups.namespace(ns) as V1Namespace | undefined;
  const user = input.userInfo;
  return {
    operation: input.operation,
    kind: 'VirtualMachineService',
    ...(svc ? { service: { ...svc, metadata: { ...svc.metadata, namespace: ns } } } : {}),
    request: {
      operation: input.operation,
      namespace: ns,
      name: svc?.metadata.name ?? '',
      userInfo: { username: user?.username ?? '', groups: user?.groups ?? [] },
      dryRun: input.dryRun ?? false,
    },
    ...(namespaceObject ? { namespaceObject } : {}),
    disks: [],
  };
}
