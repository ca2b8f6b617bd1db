// Deleting an image (namespaced or from the cluster library): refused while VMs or disks use it.
import type { ImageKind, Lookups } from '../../kube/src/lookups.ts';
import { inUse } from './in-use.ts';
import type { Denial } from './vm.ts';

export function validateImageDelete(
  kind: ImageKind,
  namespace: string | undefined,
  name: string,
  lookups: Lookups,
): Denial | undefined {
  const sameImage = (
    ref: { kind?: string; name: string } | undefined,
    ns: string | undefined,
  ): boolean => {
    if (!ref || ref.name !== name) return false;
    const refKind = ref.kind ?? 'VirtualMachineImage';
    return refKind === kind && (kind === 'ClusterVirtualMachineImage' || ns === namespace);
  };
  const users = [
    ...lookups
      .vms()
      .filter((v) => sameImage(v.spec.image, v.metadata.namespace))
      .map((v) => `${v.metadata.namespace}/${v.metadata.name}`),
    ...lookups
      .disks()
      .filter((d) => sameImage(d.spec.source?.image, d.metadata.namespace))
      .map((d) => `disk ${d.metadata.namespace}/${d.metadata.name}`),
  ].sort();
  return inUse(users, `${kind} "${name}"`);
}
