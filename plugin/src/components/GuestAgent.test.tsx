import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { renderInHeadlamp } from '../../test/render';
import { VirtualMachine } from '../resources';
import { AgentLabel } from './GuestAgent';

function vm(status: 'True' | 'False', reason: string, message: string) {
  return new VirtualMachine({
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachine',
    metadata: { name: 'deb-1', namespace: 'team-a', uid: 'u1' },
    spec: { className: 'small' },
    status: {
      printableStatus: 'Running',
      conditions: [{ type: 'AgentConnected', status, reason, message, lastTransitionTime: 'T' }],
    },
  } as never);
}

describe('AgentLabel', () => {
  it('says the agent is connected', async () => {
    renderInHeadlamp(<AgentLabel vm={vm('True', 'AgentConnected', 'the agent answers')} />);
    expect(await screen.findByText('Connected')).toBeInTheDocument();
  });

  it('says why not, in the condition’s words', async () => {
    renderInHeadlamp(
      <AgentLabel vm={vm('False', 'AgentNotConnected', 'install and start qemu-guest-agent')} />
    );
    expect(await screen.findByText('Not connected')).toBeInTheDocument();
    expect(screen.getByText(/install and start qemu-guest-agent/)).toBeInTheDocument();
  });

  it('says the VM does not run', async () => {
    renderInHeadlamp(<AgentLabel vm={vm('False', 'NotRunning', 'the VM does not run')} />);
    expect(await screen.findByText('VM not running')).toBeInTheDocument();
  });
});
