import { describe, expect, it } from 'vitest';
import { agentState, guestFacts, guestOSLabel } from './guest.ts';

const agent = (status: 'True' | 'False', reason: string, message = '') => ({
  conditions: [{ type: 'AgentConnected', status, reason, message, lastTransitionTime: 'T' }],
});

describe('guestOSLabel', () => {
  it("prefers the agent's pretty name, else name and version", () => {
    expect(guestOSLabel({ prettyName: 'Debian GNU/Linux 12 (bookworm)', name: 'Debian' })).toBe(
      'Debian GNU/Linux 12 (bookworm)',
    );
    expect(guestOSLabel({ name: 'Ubuntu', version: '24.04' })).toBe('Ubuntu 24.04');
    expect(guestOSLabel(undefined)).toBe('');
  });
});

describe('agentState and guestFacts', () => {
  it('say whether the agent answers, from the AgentConnected condition', () => {
    expect(agentState(agent('True', 'AgentConnected'))).toBe('connected');
    expect(agentState(agent('False', 'NotRunning'))).toBe('not running');
    expect(agentState(agent('False', 'AgentNotConnected'))).toBe('not connected');
    expect(agentState({})).toBe('unknown');
  });

  it('list OS, kernel and agent for a details view', () => {
    expect(
      guestFacts({
        ...agent('True', 'AgentConnected'),
        guestOS: { prettyName: 'Debian GNU/Linux 12 (bookworm)', kernel: '6.1.0-31-amd64' },
      }),
    ).toEqual([
      ['GUEST OS', 'Debian GNU/Linux 12 (bookworm)'],
      ['KERNEL', '6.1.0-31-amd64'],
      ['AGENT', 'connected'],
    ]);
    expect(guestFacts(agent('False', 'AgentNotConnected', 'install qemu-guest-agent'))).toEqual([
      ['GUEST OS', 'unknown'],
      ['AGENT', 'not connected: install qemu-guest-agent'],
    ]);
  });
});
