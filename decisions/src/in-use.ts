// A deletion refused while VMs or disks still use the object, listing (some of) them.
import type { Denial } from './vm.ts';

const MAX_LISTED = 5;

export function inUse(users: string[], what: string): Denial | undefined {
  if (users.length === 0) return undefined;
  const shown = users.slice(0, MAX_LISTED).join(', ');
  const more = users.length > MAX_LISTED ? ` and ${users.length - MAX_LISTED} more` : '';
  return {
    field: 'metadata.name',
    code: 409,
    message: `${what} is still used by ${users.length} ${users.length === 1 ? 'VM or disk' : 'VMs or disks'}: ${shown}${more}; move them to another one or delete them first`,
  };
}
