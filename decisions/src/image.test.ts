import { describe, expect, it } from 'vitest';
import { staticLookups } from '../../kube/src/lookups.ts';
import { disk, l, vm } from '../../test/support/decisions.ts';
import { validateImageDelete } from './image.ts';
import { mutateVirtualMachine } from './vm.ts';

describe('disks and deletion guards', () => {
  it('refuses to delete a cluster image that VMs or disks were made from, without naming them', () => {
    const lk = staticLookups({
      vms: [mutateVirtualMachine(vm('w', {}), l).object],
      disks: [
        disk('team-a', 'root', {
          source: { image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu' } },
        }),
      ],
    });
    const message = validateImageDelete(
      'ClusterVirtualMachineImage',
      undefined,
      'ubuntu',
      lk,
    )?.message;
    expect(message).toContain('still used by 2 VMs or disks in 1 namespace (not named here');
    expect(message).not.toMatch(/team-a|root|\bw\b/);
    expect(validateImageDelete('VirtualMachineImage', 'team-a', 'ubuntu', lk)).toBeUndefined();
  });

  it('names the users of a namespaced image, which are all in its own namespace', () => {
    const own = { image: { kind: 'VirtualMachineImage' as const, name: 'tools' } };
    const lk = staticLookups({
      vms: [vm('w', own), vm('elsewhere', own, 'team-b')],
      disks: [disk('team-a', 'data', { source: own })],
    });
    expect(validateImageDelete('VirtualMachineImage', 'team-a', 'tools', lk)?.message).toBe(
      'VirtualMachineImage "tools" is still used by 2 VMs or disks: disk team-a/data, team-a/w; move them to another one or delete them first',
    );
  });
});
