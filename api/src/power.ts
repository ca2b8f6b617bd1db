// What each power action of a VM means and in which states it is offered: shared by
// `kubectl vm` and the Headlamp plugin, so both show the same choices and send the same requests.
// Pure: no I/O, no Node-only imports (the plugin bundles it for the browser).
import type { VirtualMachine } from '../generated/types.ts';

export type PowerAction = 'start' | 'stop' | 'restart' | 'pause' | 'resume';

export interface PowerPlan {
  /** Merge patch on the vmplane VM, if the action is a change of desired state. */
  patch?: { spec: Partial<VirtualMachine['spec']> };
  /** KubeVirt subresource to call instead (restart has no desired state to set). */
  subresource?: { kind: 'virtualmachines' | 'virtualmachineinstances'; verb: string; body: object };
  /** What status must show for --wait to finish. */
  done: (vm: VirtualMachine) => boolean;
  describe: string;
}

export function powerPlan(
  action: PowerAction,
  opts: { force?: boolean; since?: string } = {},
): PowerPlan {
  switch (action) {
    case 'start':
      return {
        patch: { spec: { powerState: 'PoweredOn' } },
        done: (vm) => vm.status?.printableStatus === 'Running',
        describe: 'started',
      };
    case 'stop':
      return {
        patch: {
          spec: {
            powerState: 'PoweredOff',
            ...(opts.force ? { powerOffMode: 'Hard' as const } : {}),
          },
        },
        done: (vm) => vm.status?.printableStatus === 'Stopped',
        describe: opts.force ? 'stopped (hard power-off)' : 'stopped',
      };
    case 'pause':
      return {
        patch: { spec: { powerState: 'Suspended' } },
        done: (vm) => vm.status?.printableStatus === 'Paused',
        describe: 'paused',
      };
    case 'resume':
      return {
        patch: { spec: { powerState: 'PoweredOn' } },
        done: (vm) => vm.status?.printableStatus === 'Running',
        describe: 'resumed',
      };
    case 'restart':
      return {
        subresource: {
          kind: 'virtualmachines',
          verb: 'restart',
          body: opts.force ? { gracePeriodSeconds: 0 } : {},
        },
        // Done once the VM runs again on an instance created after the request.
        done: (vm) => vm.status?.printableStatus === 'Running',
        describe: 'restarted',
      };
  }
}

/** Which actions make sense in a state (the OpenShift console's matrix). */
export function allowedActions(printable: string | undefined): PowerAction[] {
  const s = printable ?? 'Unknown';
  const out: PowerAction[] = [];
  if (
    ![
      'Starting',
      'Stopping',
      'Terminating',
      'Provisioning',
      'Migrating',
      'Running',
      'Unknown',
    ].includes(s)
  )
    out.push('start');
  if (!['Stopping', 'Terminating', 'Stopped', 'Paused', 'Unknown'].includes(s)) out.push('stop');
  if (!['Stopping', 'Terminating', 'Provisioning', 'Migrating', 'Stopped', 'Unknown'].includes(s))
    out.push('restart');
  if (s === 'Running') out.push('pause');
  if (s === 'Paused') out.push('resume');
  return out;
}
