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
  it('shows the guest OS, its kernel and the agent under the table', () => {
    expect(vmDetails(debian, false).split('\n')).toEqual([
      'NAME   STATUS   CLASS  IMAGE      IP         NODE  AGE',
      'deb-1  Running  small  debian-12  10.0.2.15',
      '',
      'GUEST OS  Debian GNU/Linux 12 (bookworm)',
      'KERNEL    6.1.0-31-amd64',
      'AGENT     connected',
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
    expect(vmDetails(silent, false).split('\n').slice(-2)).toEqual([
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
