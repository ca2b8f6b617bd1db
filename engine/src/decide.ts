// What the local engine does for one VM and its instance, as KubeVirt v1.7.0's virt-controller and
// virt-handler decide it. Pure; the engine does the I/O.
// - The VM's side (pkg/virt-controller/watch/vm/vm.go: syncRunStrategy,
//   isTrimFirstChangeRequestNeeded, setPrintableStatus, syncStartFailureStatus,
//   calculateStartBackoffTime): whether an instance is made or deleted, by runStrategy and
//   status.stateChangeRequests, and the VM's printableStatus.
// - The instance's side (pkg/virt-handler/vm.go): whether its guest is started, shut down or
//   finished, from the instance's phase and whether its QEMU process runs.
import type { VmiPhase } from './instance-status.ts';

export type RunStrategy = 'Always' | 'Halted' | 'Manual' | 'RerunOnFailure' | 'Once';

/** One entry of status.stateChangeRequests, as virt-api writes it. */
export interface ChangeRequest {
  action: 'Start' | 'Stop';
  uid?: string;
  data?: Record<string, string>;
}

/** The instance (VMI) as the VM's side sees it. */
export interface InstanceView {
  exists: boolean;
  uid?: string;
  /** It has a deletionTimestamp. */
  deleting?: boolean;
  phase?: VmiPhase;
  /** Paused=True on the instance. */
  paused?: boolean;
  /** Synchronized=False with FailedPvcNotFound. */
  claimMissing?: boolean;
  /** PodScheduled=False with Unschedulable. */
  unschedulable?: boolean;
  /** A live migration started and has not ended (status.migrationState). */
  migrating?: boolean;
}

export interface VmView {
  runStrategy: RunStrategy;
  /** The VM itself is being deleted. */
  deleting?: boolean;
  requests?: ChangeRequest[];
  /** status.runStrategy: the strategy the VM was last synced with (set once an instance was made). */
  lastRunStrategy?: RunStrategy;
  /** status.startFailure.consecutiveFailCount. */
  failCount?: number;
  /** Milliseconds left until status.startFailure.retryAfterTimestamp. */
  backoffLeftMs?: number;
  /** The DataVolumes of its templates: none or all Succeeded, some still provisioning, or one failed. */
  dataVolumes?: 'ready' | 'provisioning' | 'error';
  /** The VM cannot be started at all (an instance type that does not exist): the Failure condition. */
  failure?: { reason: string; message: string };
}

export type VmAction =
  | { kind: 'createInstance'; paused: boolean }
  | { kind: 'deleteInstance' }
  /** Drops the first state change request (it was carried out or no longer applies). */
  | { kind: 'trimRequest' }
  /** A failed RerunOnFailure instance is replaced: a Start request is appended. */
  | { kind: 'appendStart' }
  /** A Halted VM asked to start: its runStrategy becomes Always (the request stays). */
  | { kind: 'setAlways' };

const isFinal = (i: InstanceView): boolean => i.phase === 'Succeeded' || i.phase === 'Failed';

/** Whether the first request is dropped this pass (isTrimFirstChangeRequestNeeded). */
function trimFirst(vm: VmView, i: InstanceView): boolean {
  const first = vm.requests?.[0];
  if (!first) return false;
  if (first.action === 'Stop') return !i.exists || !first.uid || first.uid !== i.uid;
  return i.exists && !i.deleting && !isFinal(i);
}

/** With an instance there: whether it goes (and a failed RerunOnFailure one is asked back). */
function withInstance(vm: VmView, i: InstanceView): VmAction[] {
  if (i.deleting) return [];
  const first = vm.requests?.[0];
  const stopThis = first?.action === 'Stop' && !!first.uid && first.uid === i.uid;
  const del: VmAction = { kind: 'deleteInstance' };
  switch (vm.runStrategy) {
    case 'Always':
      return stopThis || isFinal(i) ? [del] : [];
    case 'RerunOnFailure':
      if (!stopThis && !isFinal(i)) return [];
      return i.phase === 'Failed' ? [del, { kind: 'appendStart' }] : [del];
    case 'Manual':
      return stopThis ? [del] : [];
    case 'Halted':
      return [del];
    case 'Once':
      return [];
  }
}

/** With no instance: whether one is made now. */
function withoutInstance(vm: VmView): VmAction[] {
  const first = vm.requests?.[0];
  const startAsked = first?.action === 'Start';
  const canStart =
    !vm.failure && (vm.dataVolumes ?? 'ready') === 'ready' && !((vm.backoffLeftMs ?? 0) > 0);
  const create: VmAction[] = canStart
    ? [{ kind: 'createInstance', paused: startAsked && first?.data?.['paused'] === 'true' }]
    : [];
  switch (vm.runStrategy) {
    case 'Always':
    case 'Once':
      return create;
    case 'RerunOnFailure':
      return startAsked || vm.lastRunStrategy !== vm.runStrategy ? create : [];
    case 'Manual':
      return startAsked ? create : [];
    case 'Halted':
      return startAsked ? [{ kind: 'setAlways' }] : [];
  }
}

/** The VM's next steps (one pass of syncRunStrategy); none when it is where it should be. */
export function vmActions(vm: VmView, i: InstanceView): VmAction[] {
  if (vm.deleting) return i.exists && !i.deleting ? [{ kind: 'deleteInstance' }] : [];
  const trim: VmAction[] = trimFirst(vm, i) ? [{ kind: 'trimRequest' }] : [];
  return [...trim, ...(i.exists ? withInstance(vm, i) : withoutInstance(vm))];
}

/** Whether the VM's side is about to make an instance (isVMIStartExpected). */
function startExpected(vm: VmView, i: InstanceView): boolean {
  return !i.exists && vmActions(vm, i).some((a) => a.kind === 'createInstance');
}

/** Whether it is about to delete the instance (isVMIStopExpected). */
function stopExpected(vm: VmView, i: InstanceView): boolean {
  return i.exists && vmActions(vm, i).some((a) => a.kind === 'deleteInstance');
}

/** KubeVirt's printableStatus: the first that holds, in setPrintableStatus's order. */
export function printableStatus(vm: VmView, i: InstanceView): string {
  const final = isFinal(i);
  const table: [string, boolean][] = [
    ['Terminating', !!vm.deleting],
    ['Stopping', i.exists && !final && (!!i.deleting || stopExpected(vm, i))],
    ['Migrating', i.phase === 'Running' && !!i.migrating],
    ['Paused', i.phase === 'Running' && !!i.paused],
    ['Running', i.phase === 'Running' && !i.paused],
    ['ErrorPvcNotFound', !!i.claimMissing],
    ['DataVolumeError', vm.dataVolumes === 'error'],
    ['ErrorUnschedulable', !!i.unschedulable],
    ['Provisioning', vm.dataVolumes === 'provisioning'],
    [
      'Starting',
      i.exists
        ? ['Pending', 'Scheduling', 'Scheduled'].includes(i.phase ?? 'Pending')
        : startExpected(vm, i),
    ],
    [
      'CrashLoopBackOff',
      (!i.exists || final) &&
        !startExpected(vm, i) &&
        (vm.failCount ?? 0) > 0 &&
        ['Always', 'RerunOnFailure', 'Once'].includes(vm.runStrategy),
    ],
    ['Stopped', (i.exists && final) || (!i.exists && !startExpected(vm, i))],
  ];
  return table.find(([, holds]) => holds)?.[0] ?? 'Unknown';
}

/**
 * How long virt-controller waits before the next start after `failures` failed ones:
 * 10·n² seconds plus up to half of that again (`jitter` in [0, 1)), at most 300 s.
 */
export function startBackoffMs(failures: number, jitter = Math.random()): number {
  if (failures <= 0) return 0;
  const base = 10 * failures * failures;
  return Math.min(base + Math.floor(jitter * (Math.floor(base / 2) + 1)), 300) * 1000;
}

/** The instance as its guest's side (virt-handler) sees it. */
export interface GuestView {
  phase: VmiPhase;
  deleting: boolean;
  /** The QEMU process runs. */
  process: boolean;
  /** The engine has started a process for this instance before (it ran, then went away). */
  started: boolean;
}

export type GuestAction =
  | { kind: 'startProcess' }
  /** Shut the guest down (ACPI, then hard after the grace period). */
  | { kind: 'stopProcess' }
  /** The guest is gone: the instance is Succeeded or Failed, its finalizer removed when deleted. */
  | { kind: 'finish' }
  | { kind: 'none' };

/** The guest's next step. */
export function guestAction(g: GuestView): GuestAction {
  const final = g.phase === 'Succeeded' || g.phase === 'Failed';
  if (g.deleting) return g.process ? { kind: 'stopProcess' } : { kind: 'finish' };
  if (final) return g.process ? { kind: 'stopProcess' } : { kind: 'none' };
  if (g.process) return { kind: 'none' };
  // It ran and its process is gone: the guest powered off (or crashed).
  if (g.started || g.phase === 'Running') return { kind: 'finish' };
  return { kind: 'startProcess' };
}

/**
 * The guest memory the engine gives a VM on this machine: what it asks for, capped (the sandbox
 * caps guest RAM), and refused when what the engine's VMs already hold leaves no room.
 */
export function guestMemory(
  requestedBytes: number,
  capBytes: number | undefined,
  availableBytes: number,
): { ok: true; bytes: number } | { ok: false; message: string } {
  const bytes = capBytes !== undefined ? Math.min(requestedBytes, capBytes) : requestedBytes;
  const mib = (n: number): string => `${Math.round(n / 2 ** 20)} MiB`;
  if (bytes > availableBytes)
    return {
      ok: false,
      message: `0/1 nodes are available: 1 Insufficient memory (the VM needs ${mib(bytes)} of guest memory${capBytes !== undefined && requestedBytes > bytes ? ` (its ${mib(requestedBytes)}, capped)` : ''} and this machine has ${mib(availableBytes)} available: stop another VM or use a smaller class)`,
    };
  return { ok: true, bytes };
}
