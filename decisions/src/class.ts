// Deleting a VirtualMachineClass: refused while VMs use it. A class is cluster-scoped, so its
// users are counted, not named (see in-use.ts).
import type { Lookups } from '../../kube/src/lookups.ts';
import { inUseAcrossNamespaces } from './in-use.ts';
import type { Denial } from './vm.ts';

export function validateClassDelete(name: string, lookups: Lookups): Denial | undefined {
  const users = lookups
    .vms()
    .filter((v) => v.spec.className === name)
    .map((v) => ({ namespace: v.metadata.namespace ?? '' }));
  return inUseAcrossNamespaces(users, `VirtualMachineClass "${name}"`);
}
