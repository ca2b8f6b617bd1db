import { describe, expect, it } from 'vitest';
import { staticLookups } from '../../kube/src/lookups.ts';
import { vm } from '../../test/support/decisions.ts';
import { validateClassDelete } from './class.ts';

describe('disks and deletion guards', () => {
  it('refuses to delete a class in use, counting the VMs without naming them or their namespaces', () => {
    const many = [
      ...Array.from({ length: 5 }, (_, i) => vm(`vm-${i}`, { className: 'busy' })),
      ...Array.from({ length: 2 }, (_, i) => vm(`other-${i}`, { className: 'busy' }, 'team-b')),
    ];
    const d = validateClassDelete('busy', staticLookups({ vms: many }));
    // A class is cluster-scoped: its users may be in namespaces the deleter cannot read.
    expect(d?.message).toBe(
      'VirtualMachineClass "busy" is still used by 7 VMs or disks in 2 namespaces (not named here: they may be in namespaces you cannot read); move them to another one or delete them first',
    );
    expect(d?.message).not.toMatch(/vm-0|other-0|team-a|team-b/);
    expect(validateClassDelete('idle', staticLookups({ vms: many }))).toBeUndefined();
  });
});
