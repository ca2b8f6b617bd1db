// The context of one evaluation: the VM and the request, and what they resolve to (namespace,
// class, image, disks), from the lookups.
import type { V1Namespace } from '@kubernetes/client-node';
import type { VirtualMachine, VirtualMachineClass } from '../../api/generated/types.ts';
import { findImage, type AnyImage, type ImageKind, type Lookups } from '../../kube/src/lookups.ts';
import type { EvalContext, Operation, ResolvedDisk } from './types.ts';

/** Resolves everything a policy may look at for one request, from the lookups. */
export function buildContext(
  input: { operation: Operation; object?: VirtualMachine; oldObject?: VirtualMachine; namespace: string; userInfo?: { username?: string; groups?: string[] }; dryRun?: boolean },
  l: Lookups,
): EvalContext {
  const vm = input.object ?? input.oldObject;
  const ns = input.namespace || vm?.metadata.namespace || '';
  const spec = vm?.spec;
  let image: AnyImage | undefined;
  if (spec?.image) {
    const kinds: ImageKind[] = spec.image.kind ? [spec.image.kind] : ['VirtualMachineImage', 'ClusterVirtualMachineImage'];
    for (const k of kinds) image ??= findImage(l, k, ns, spec.image.name);
  }
  const disks: ResolvedDisk[] = [];
  if (spec?.image) {
    disks.push({
      field: 'spec.bootDisk',
      size: spec.bootDisk?.size ?? image?.spec.size,
      storageClassName: spec.bootDisk?.storageClassName,
      accessModes: spec.bootDisk?.accessModes,
    });
  }
  for (const [i, d] of (spec?.disks ?? []).entries()) {
    if (d.virtualMachineDiskName) {
      const existing = l.disk(ns, d.virtualMachineDiskName);
      disks.push({ field: `spec.disks[${i}]`, diskName: d.virtualMachineDiskName, size: existing?.spec.size, storageClassName: existing?.spec.storageClassName, accessModes: existing?.spec.accessModes });
    } else {
      disks.push({ field: `spec.disks[${i}]`, size: d.size, storageClassName: d.storageClassName, accessModes: d.accessModes });
    }
  }
  return {
    operation: input.operation,
    ...(input.object ? { object: input.object } : {}),
    ...(input.oldObject ? { oldObject: input.oldObject } : {}),
    request: {
      operation: input.operation,
      namespace: ns,
      name: vm?.metadata.name ?? '',
      userInfo: { username: input.userInfo?.username ?? '', groups: input.userInfo?.groups ?? [] },
      dryRun: input.dryRun ?? false,
    },
    ...(l.namespace(ns) ? { namespaceObject: l.namespace(ns) as V1Namespace } : {}),
    ...(spec?.className && l.vmClass(spec.className) ? { vmClass: l.vmClass(spec.className) as VirtualMachineClass } : {}),
    ...(image ? { image } : {}),
    disks,
  };
}
