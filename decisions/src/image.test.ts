import { describe, expect, it } from 'vitest';
import { staticLookups } from '../../kube/src/lookups.ts';
import { disk, l, vm } from '../../test/support/decisions.ts';
import { validateImageDelete } from './image.ts';
import { mutateVirtualMachine } from './vm.ts';

describe('disks and deletion guards', () => {
  it('refuses to delete an image that VMs or disks were made from', () => {
    const lk = staticLookups({
      vms: [mutateVirtualMachine(vm('w', {}), l).object],
      disks: [
        disk('team-a', 'root', {
          source: { image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu' } },
        }),
      ],
    });
    expect(
      validateImageDelete('ClusterVirtualMachineImage', undefined, 'ubuntu', lk)?.message,
    ).toContain('still used by 2 VMs or disks: disk team-a/root, team-a/w');
    expect(validateImageDelete('VirtualMachineImage', 'team-a', 'ubuntu', lk)).toBeUndefined();
  });
});
