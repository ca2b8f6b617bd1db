import { describe, expect, it } from 'vitest';
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { vm as build } from '../../../test/support/builders.ts';
import { vmDetails, vmRows } from './show.ts';

const debian: VirtualMachine = {
  ...build('deb-1', { className: 'small', image: { name: 'debian-12' } }),
  status: {
    printableStatus: 'Running',
    primaryIP: '10.0.2.15',
    guestOS: {
      name: 'Debian GNU/Linux',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
      kernel: '6.1.0-31-amd64',
    },
    conditions: [
      {
        type: 'AgentConnected',
        status: 'True',
        reason: 'AgentConnected',
        message: 'the QEMU guest agent answers',
        lastTransitionTime: 'T',
      },
    ],
  },
};

describe('kubectl vm get', () => {
  it('shows the guest OS, its kernel and the agent under the table, then the interfaces', () => {
    expect(vmDetails(debian, false).split('\n')).toEqual([
      'NAME   STATUS   CLASS  IMAGE      IP         NODE  AGE',
      'deb-1  Running  small  debian-12  10.0.2.15',
      '',
      'GUEST OS  Debian GNU/Linux 12 (bookworm)',
      'KERNEL    6.1.0-31-amd64',
      'AGENT     connected',
      '',
      'INTERFACE  NETWORK  MAC  IP  OBSERVED',
      'default    pod',
    ]);
  });

  it('shows each interface: network, MAC, allocated IP and the IPs the guest was seen with', () => {
    const twoNics = {
      ...debian,
      spec: {
        ...debian.spec,
        network: { interfaces: [{ name: 'nic0' }, { name: 'nic1', network: 'vlan100' }] },
      },
      status: {
        ...debian.status,
        interfaces: [
          { name: 'nic0', macAddress: '02:76:6d:00:00:01', ipAddresses: ['10.244.0.5'] },
          {
            name: 'nic1',
            network: 'vlan100',
            macAddress: '02:76:6d:00:00:02',
            ipAddress: '192.168.100.7',
            ipAddresses: ['192.168.100.7'],
          },
        ],
      },
    } as VirtualMachine;
    expect(vmDetails(twoNics, false).split('\n').slice(-3)).toEqual([
      'INTERFACE  NETWORK  MAC                IP             OBSERVED',
      'nic0       pod      02:76:6d:00:00:01                 10.244.0.5',
      'nic1       vlan100  02:76:6d:00:00:02  192.168.100.7  192.168.100.7',
    ]);
  });

  it('says why the OS is unknown when no agent answers', () => {
    const silent: VirtualMachine = {
      ...debian,
      status: {
        printableStatus: 'Running',
        conditions: [
          {
            type: 'AgentConnected',
            status: 'False',
            reason: 'AgentNotConnected',
            message: 'no QEMU guest agent answers',
            lastTransitionTime: 'T',
          },
        ],
      },
    };
    expect(vmDetails(silent, false).split('\n').slice(-5, -3)).toEqual([
      'GUEST OS  unknown',
      'AGENT     not connected: no QEMU guest agent answers',
    ]);
  });
});

describe('kubectl vm list -o wide', () => {
  it('adds the guest OS', () => {
    const [header, row] = vmRows([debian], true, false).split('\n');
    expect(header).toMatch(/ACTIONS\s+OS\s+AGE$/);
    expect(row).toContain('Debian GNU/Linux 12 (bookworm)');
  });
});
