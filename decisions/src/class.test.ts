import { describe, expect, it } from 'vitest';
import { staticLookups } from '../../kube/src/lookups.ts';
import { vm } from '../../test/support/decisions.ts';
import { validateClassDelete } from './class.ts';

describe('disks and deletion guards', () => {
  it('refuses to delete a class in use, listing the first VMs', () => {
    const many = Array.from({ length: 7 }, (_, i) => vm(`vm-${i}`, { className: 'busy' }));
    const d = validateClassDelete('busy', staticLookups({ vms: many }));
    expect(d?.message).toBe(
      'VirtualMachineClass "busy" is still used by 7 VMs or disks: team-a/vm-0, team-a/vm-1, team-a/vm-2, team-a/vm-3, team-a/vm-4 and 2 more; move them to another one or delete them first',
    );
    expect(validateClassDelete('idle', staticLookups({ vms: many }))).toBeUndefined();
  });
});
