// What the local engine does for one VM, as KubeVirt's virt-controller and virt-handler would:
// whether an instance should exist (from runStrategy and start/stop requests), what to do about
// its QEMU process, and the printable status KubeVirt would show. Pure; the engine does the I/O.

export type RunStrategy = 'Always' | 'Halted' | 'Manual' | 'RerunOnFailure' | 'Once';

/** The instance (VMI) as the engine knows it. */
export interface InstanceView {
  /** The VMI object exists (and is not being deleted). */
  exists: boolean;
  deleting?: boolean;
  /** KubeVirt's VMI phases, as this engine writes them. */
  phase?: 'Pending' | 'Scheduled' | 'Running' | 'Succeeded' | 'Failed';
  /** The QEMU process runs. */
  process: boolean;
  paused?: boolean;
}

export interface VmView {
  runStrategy: RunStrategy;
  /** The VM itself is being deleted. */
  deleting?: boolean;
  /** The disks the VM needs are there (DataVolumes done, files made). */
  disksReady: boolean;
  /** A disk cannot be made at all (an image the engine does not hold, a missing claim). */
  diskError?: boolean;
  /** The engine waits before the next start: after a failed one (KubeVirt's CrashLoopBackOff),
   * or until a VM the machine had no room for is tried again. */
  backoff?: boolean;
  /** The machine cannot give the VM its memory now (KubeVirt's ErrorUnschedulable). */
  unschedulable?: boolean;
}

/** How long the engine waits before starting a guest again after `failures` failed starts. */
export function startBackoffMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(10_000 * 2 ** (failures - 1), 300_000);
}

export type Action =
  | { kind: 'createInstance' }
  | { kind: 'deleteInstance' }
  | { kind: 'startProcess' }
  | { kind: 'stopProcess' };

/** Whether the VM should have an instance now. */
export function wantsInstance(vm: VmView, instance: InstanceView): boolean {
  if (vm.deleting) return false;
  switch (vm.runStrategy) {
    case 'Always':
      return true;
    case 'RerunOnFailure':
      // A guest that shut itself down cleanly stays down; a failure runs again.
      return instance.phase !== 'Succeeded';
    case 'Once':
      // Runs once: an instance that finished, either way, is not replaced.
      return !instance.exists || (instance.phase !== 'Succeeded' && instance.phase !== 'Failed');
    case 'Manual':
      // Started and stopped by the start/stop subresources only: keep what is there.
      return instance.exists && !instance.deleting;
    case 'Halted':
      return false;
  }
}

/** The next steps for the VM, in order; none when it is where it should be. */
export function decide(vm: VmView, instance: InstanceView): Action[] {
  const actions = steps(vm, instance);
  // While backing off (after a failed start, or until a VM with no room is tried again),
  // nothing new is started.
  if (!vm.backoff) return actions;
  return actions.filter((a) => a.kind !== 'createInstance' && a.kind !== 'startProcess');
}

function steps(vm: VmView, instance: InstanceView): Action[] {
  const want = wantsInstance(vm, instance);
  const finished = instance.phase === 'Succeeded' || instance.phase === 'Failed';
  if (!want) {
    if (instance.process) return [{ kind: 'stopProcess' }];
    // Once keeps its finished instance: it is the record that the VM ran, and no new one comes.
    if (vm.runStrategy === 'Once' && finished && !vm.deleting) return [];
    return instance.exists && !instance.deleting ? [{ kind: 'deleteInstance' }] : [];
  }
  // A finished instance is replaced by a new one (Always, RerunOnFailure after a failure).
  if (instance.exists && finished && !instance.process) return [{ kind: 'deleteInstance' }];
  if (!instance.exists) return vm.disksReady ? [{ kind: 'createInstance' }] : [];
  if (!instance.process && !finished && !instance.deleting && vm.disksReady)
    return [{ kind: 'startProcess' }];
  return [];
}

/** KubeVirt's printableStatus for the VM (the vocabulary `kubectl get vm` shows). */
export function printableStatus(vm: VmView, instance: InstanceView): string {
  if (vm.deleting) return 'Terminating';
  const want = wantsInstance(vm, instance);
  if (want && !instance.process) {
    if (vm.unschedulable) return 'ErrorUnschedulable';
    if (vm.backoff) return 'CrashLoopBackOff';
  }
  if (!instance.exists) {
    if (!want) return 'Stopped';
    if (vm.diskError) return 'DataVolumeError';
    return vm.disksReady ? 'Starting' : 'Provisioning';
  }
  if (instance.deleting || (!want && instance.process)) return 'Stopping';
  if (instance.phase === 'Running' && instance.process)
    return instance.paused ? 'Paused' : 'Running';
  if (instance.phase === 'Failed') return 'CrashLoopBackOff';
  if (instance.phase === 'Succeeded') return want ? 'Starting' : 'Stopped';
  return 'Starting';
}

/**
 * The guest memory the engine gives a VM on this machine: what it asks for, capped (the sandbox
 * caps guest RAM), and refused when the machine cannot give it.
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
      message: `the VM needs ${mib(bytes)} of guest memory${capBytes !== undefined && requestedBytes > bytes ? ` (its ${mib(requestedBytes)}, capped)` : ''} and this machine has ${mib(availableBytes)} available: stop another VM or use a smaller class`,
    };
  return { ok: true, bytes };
}
