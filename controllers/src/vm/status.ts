// The status of a vmplane VM, computed from what was resolved and what the engine reports.
// Pure: the reconciler gathers the inputs and writes the result.
import type { V1VirtualMachine, V1VirtualMachineInstance } from '@kubevirt-ui-ext/kubevirt-api/kubevirt';
import type { VirtualMachine, VirtualMachineStatus } from '../../../api/generated/types.ts';
import type { EffectiveClass } from './translate.ts';
import { withTransitionTime } from '../../../kube/src/conditions.ts';
import { VmConditions } from '../../../api/src/wellknown.ts';

type Condition = NonNullable<VirtualMachineStatus['conditions']>[number];
type Phase = NonNullable<VirtualMachineStatus['phase']>;

export interface Check {
  ok: boolean;
  reason: string;
  message: string;
}

export interface StatusInputs {
  vm: VirtualMachine;
  now: string;
  classCheck: Check;
  imageCheck: Check;
  disksCheck: Check;
  engineCheck: Check;
  /** The class the engine object was built from (recorded as status.class). */
  applied?: EffectiveClass;
  /** The class as it is now, to tell whether a restart is pending. */
  current?: EffectiveClass;
  kv?: V1VirtualMachine;
  vmi?: V1VirtualMachineInstance;
  /** A power action (pause, unpause) the engine refused: becomes PowerAction=False. */
  powerCheck?: Check;
}

const PHASES: Record<string, Phase> = {
  Stopped: 'Stopped',
  Provisioning: 'Provisioning',
  Starting: 'Starting',
  Running: 'Running',
  Paused: 'Paused',
  Stopping: 'Stopping',
  Terminating: 'Stopping',
  Migrating: 'Migrating',
  WaitingForVolumeBinding: 'Provisioning',
  Unknown: 'Unknown',
};

export function phaseOf(printable: string | undefined): Phase {
  if (!printable) return 'Pending';
  return PHASES[printable] ?? (/Error|CrashLoop|Fail/.test(printable) ? 'Failed' : 'Unknown');
}

export function powerStateOf(printable: string | undefined): VirtualMachineStatus['powerState'] {
  switch (printable) {
    case 'Running':
    case 'Starting':
    case 'Migrating':
      return 'PoweredOn';
    case 'Paused':
      return 'Suspended';
    case 'Stopped':
    case undefined:
      return 'PoweredOff';
    default:
      return undefined;
  }
}

/** Whether the engine is running the VM (so its hardware is fixed until the next power cycle). */
export function isRunning(kv: V1VirtualMachine | undefined, vmi: V1VirtualMachineInstance | undefined): boolean {
  const p = kv?.status?.printableStatus;
  return !!vmi || p === 'Running' || p === 'Paused' || p === 'Migrating' || p === 'Starting';
}

function condition(type: string, c: Check, previous: Condition[] | undefined, now: string, generation: number): Condition {
  return withTransitionTime<Condition>(previous, { type, status: c.ok ? 'True' : 'False', reason: c.reason, message: c.message, observedGeneration: generation }, now);
}

export function restartPending(applied: EffectiveClass | undefined, current: EffectiveClass | undefined): boolean {
  if (!applied || !current) return false;
  return applied.name !== current.name || applied.generation !== current.generation;
}

export function computeVmStatus(i: StatusInputs): VirtualMachineStatus {
  const gen = i.vm.metadata.generation ?? 0;
  const prev = i.vm.status?.conditions;
  const printable = i.kv?.status?.printableStatus;
  const vmiIfaces = i.vmi?.status?.interfaces ?? [];
  const ips = vmiIfaces.flatMap((x) => x.ipAddresses ?? (x.ipAddress ? [x.ipAddress] : []));
  const pending = restartPending(i.applied, i.current) && isRunning(i.kv, i.vmi);

  const readyCheck: Check = !i.engineCheck.ok
    ? { ok: false, reason: i.engineCheck.reason, message: i.engineCheck.message }
    : !i.classCheck.ok || !i.imageCheck.ok
      ? { ok: false, reason: 'NotTranslated', message: 'the VM cannot be handed to the engine until its class and image resolve (see the conditions above)' }
      : i.kv?.status?.ready
        ? { ok: true, reason: 'Ready', message: 'the VM is running and ready' }
        : { ok: false, reason: printable ?? 'Pending', message: readyMessage(i.vm, printable) };

  const conditions: Condition[] = [
    condition(VmConditions.ClassResolved, i.classCheck, prev, i.now, gen),
    condition(VmConditions.ImageResolved, i.imageCheck, prev, i.now, gen),
    condition(VmConditions.DisksReady, i.disksCheck, prev, i.now, gen),
    condition(VmConditions.EngineAvailable, i.engineCheck, prev, i.now, gen),
    condition(VmConditions.Ready, readyCheck, prev, i.now, gen),
    condition(
      VmConditions.RestartPending,
      pending
        ? {
            ok: true,
            reason: 'ClassChanged',
            message: `class ${i.current?.name} (generation ${i.current?.generation}: ${i.current?.cpus} vCPUs, ${i.current?.memory}) applies at the next power cycle; the VM runs with ${i.applied?.name} (${i.applied?.cpus} vCPUs, ${i.applied?.memory})`,
          }
        : { ok: false, reason: 'UpToDate', message: 'the VM runs with its current class' },
      prev,
      i.now,
      gen,
    ),
  ];

  if (i.powerCheck) conditions.push(condition(VmConditions.PowerAction, i.powerCheck, prev, i.now, gen));

  const status: VirtualMachineStatus = {
    observedGeneration: gen,
    phase: i.engineCheck.ok ? phaseOf(printable) : 'Pending',
    printableStatus: i.engineCheck.ok ? (printable ?? 'Pending') : 'EngineUnavailable',
    conditions,
    restartPending: pending,
  };
  const power = i.kv ? powerStateOf(printable) : undefined;
  if (power) status.powerState = power;
  if (i.vmi?.status?.nodeName) status.nodeName = i.vmi.status.nodeName;
  if (ips.length) {
    status.ipAddresses = ips;
    status.primaryIP = ips[0] as string;
  }
  if (vmiIfaces.length) {
    status.interfaces = vmiIfaces.map((x) => ({
      ...(x.name ? { name: x.name } : {}),
      ...(x.mac ? { macAddress: x.mac } : {}),
      ipAddresses: x.ipAddresses ?? (x.ipAddress ? [x.ipAddress] : []),
    }));
  }
  const os = i.vmi?.status?.guestOSInfo;
  if (os && (os.name || os.version || os.kernelRelease)) {
    status.guestOS = { ...(os.name ? { name: os.name } : {}), ...(os.version ? { version: os.version } : {}), ...(os.kernelRelease ? { kernel: os.kernelRelease } : {}) };
  }
  if (i.applied) {
    status.class = { name: i.applied.name, cpus: i.applied.cpus, memory: i.applied.memory, reservation: i.applied.reservation, generation: i.applied.generation };
  }
  return status;
}

function readyMessage(vm: VirtualMachine, printable: string | undefined): string {
  if (vm.spec.powerState === 'PoweredOff') return 'the VM is powered off';
  switch (printable) {
    case undefined:
      return 'waiting for the engine to report on the VM';
    case 'Stopped':
      return 'the engine reports the VM stopped';
    case 'Paused':
      return 'the VM is suspended';
    case 'ErrorUnschedulable':
      return 'no node can run the VM: check its zone, class (CPU, memory, GPUs) and the nodes\' capacity';
    default:
      return `the engine reports the VM ${printable}`;
  }
}
