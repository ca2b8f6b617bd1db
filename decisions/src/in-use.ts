// A deletion refused while VMs or disks still use the object. Users in the object's own namespace
// are listed (some of them); users of a cluster-scoped object are only counted, with how many
// namespaces they are in: the deleter may not be allowed to read those namespaces, and the
// webhook must not tell their VMs' and disks' names to whoever asks.
import type { Denial } from './vm.ts';

const MAX_LISTED = 5;

const usersOf = (n: number): string => `${n} ${n === 1 ? 'VM or disk' : 'VMs or disks'}`;
const MOVE = 'move them to another one or delete them first';

function denial(message: string): Denial {
  return { field: 'metadata.name', code: 409, message };
}

/** A namespaced object's users, all in its own namespace: named. */
export function inUse(users: string[], what: string): Denial | undefined {
  if (users.length === 0) return undefined;
  const shown = users.slice(0, MAX_LISTED).join(', ');
  const more = users.length > MAX_LISTED ? ` and ${users.length - MAX_LISTED} more` : '';
  return denial(`${what} is still used by ${usersOf(users.length)}: ${shown}${more}; ${MOVE}`);
}

/** A cluster-scoped object's users, in any namespace: counted, never named. */
export function inUseAcrossNamespaces(
  users: { namespace: string }[],
  what: string,
): Denial | undefined {
  if (users.length === 0) return undefined;
  const namespaces = new Set(users.map((u) => u.namespace)).size;
  return denial(
    `${what} is still used by ${usersOf(users.length)} in ${namespaces} ${namespaces === 1 ? 'namespace' : 'namespaces'} (not named here: they may be in namespaces you cannot read); ${MOVE}`,
  );
}

/**
 * A disk's users: the VMs of its own namespace that name it in spec.disks, named (the deleter
 * works in that namespace), with what to do.
 */
export function diskInUse(vms: string[], what: string): Denial | undefined {
  if (vms.length === 0) return undefined;
  const shown = vms
    .slice(0, MAX_LISTED)
    .map((v) => `"${v}"`)
    .join(', ');
  const more = vms.length > MAX_LISTED ? ` and ${vms.length - MAX_LISTED} more` : '';
  const noun = vms.length === 1 ? 'VM' : 'VMs';
  return denial(
    `${what} is still attached to ${noun} ${shown}${more}: remove it from the VM's spec.disks (or delete the VM) first`,
  );
}
