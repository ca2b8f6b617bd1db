// How a VM's guest is shown: its operating system as the guest agent reports it and whether the
// agent answers. Shared by `kubectl vm get` and the Headlamp plugin, so both say the same.
// Pure: no I/O, no Node-only imports (the plugin bundles it for the browser).
import type { VirtualMachine } from '../generated/types.ts';
import { Reasons, VmConditions } from './wellknown.ts';

type Status = VirtualMachine['status'];

/** The guest OS in one line: the agent's pretty name, else name and version; '' when unknown. */
export function guestOSLabel(os: NonNullable<Status>['guestOS'] | undefined): string {
  if (!os) return '';
  return os.prettyName || [os.name, os.version].filter(Boolean).join(' ');
}

export type AgentState = 'connected' | 'not connected' | 'not running' | 'unknown';

/** Whether the guest agent answers, from the VM's AgentConnected condition. */
export function agentState(status: Status | undefined): AgentState {
  const c = status?.conditions?.find((x) => x.type === VmConditions.AgentConnected);
  if (!c) return 'unknown';
  if (c.status === 'True') return 'connected';
  return c.reason === Reasons.NotRunning ? 'not running' : 'not connected';
}

/** The guest's facts as label and value pairs, for a details view. */
export function guestFacts(status: Status | undefined): [string, string][] {
  const os = status?.guestOS;
  const agent = agentState(status);
  const message = status?.conditions?.find((x) => x.type === VmConditions.AgentConnected)?.message;
  return [
    ['GUEST OS', guestOSLabel(os) || (agent === 'connected' ? 'not reported' : 'unknown')],
    ...(os?.kernel ? ([['KERNEL', os.kernel]] as [string, string][]) : []),
    ['AGENT', agent === 'not connected' && message ? `${agent}: ${message}` : agent],
  ];
}
