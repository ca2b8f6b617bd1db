// Deleting an image (namespaced or from the cluster library): refused while VMs or disks use it.
// A namespaced image's users are in its namespace and named; a cluster image's are counted.
import type { ImageKind, Lookups } from '../../kube/src/lookups.ts';
import { inUse, inUseAcrossNamespaces } from './in-use.ts';
import type { Denial } from './vm.ts';

export function validateImageDelete(
  kind: ImageKind,
  namespace: string | undefined,
  name: string,
  lookups: Lookups,
): Denial | undefined {
  const cluster = kind === 'ClusterVirtualMachineImage';
  const sameImage = (
    ref: { kind?: string; name: string } | undefined,
    ns: string | undefined,
  ): boolean => {
    if (!ref || ref.name !== name) return false;
    const refKind = ref.kind ?? 'VirtualMachineImage';
    return refKind === kind && (cluster || ns === namespace);
  };
  const users = [
    ...lookups
      .vms()
      .filter((v) => sameImage(v.spec.image, v.metadata.namespace))
      .map((v) => ({
        namespace: v.metadata.namespace ?? '',
        label: `${v.metadata.namespace}/${v.metadata.name}`,
      })),
    ...lookups
      .disks()
      .filter((d) => sameImage(d.spec.source?.image, d.metadata.namespace))
      .map((d) => ({
        namespace: d.metadata.namespace ?? '',
        label: `disk ${d.metadata.namespace}/${d.metadata.name}`,
      })),
  ];
  if (cluster) return inUseAcrossNamespaces(users, `${kind} "${name}"`);
  return inUse(users.map((u) => u.label).sort(), `${kind} "${name}"`);
}
