// Deleting a VirtualMachineClass: refused while VMs use it.
import type { Lookups } from '../../kube/src/lookups.ts';
import { inUse } from './in-use.ts';
import type { Denial } from './vm.ts';

export function validateClassDelete(name: string, lookups: Lookups): Denial | undefined {
  const users = lookups
    .vms()
    .filter((v) => v.spec.className === name)
    .map((v) => `${v.metadata.namespace}/${v.metadata.name}`)
    .sort();
  return inUse(users, `VirtualMachineClass "${name}"`);
}
