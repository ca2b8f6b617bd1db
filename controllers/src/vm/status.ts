// The status of a vmplane VM, computed from what was resolved and what the engine reports.
// Pure: the reconciler gathers the inputs and writes the result.
import type {
  V1VirtualMachine,
  V1VirtualMachineInstance,
} from '@kubevirt-ui-ext/kubevirt-api/kubevirt';
import type { VirtualMachine, VirtualMachineStatus } from '../../../api/generated/types.ts';
import type { EffectiveClass } from './translate.ts';
import { fail, ok, type Check } from '../../../decisions/src/check.ts';
import { withTransitionTime } from '../../../kube/src/conditions.ts';
import { Reasons, VmConditions } from '../../../api/src/wellknown.ts';
import { statusInterfaces } from '../network/addresses-decide.ts';

type Condition = NonNullable<VirtualMachineStatus['conditions']>[number];
type Phase = NonNullable<VirtualMachineStatus['phase']>;

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
  /** Whether the API server took the KubeVirt VM (EngineAccepted); absent when none was written. */
  acceptedCheck?: Check;
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
export function isRunning(
  kv: V1VirtualMachine | undefined,
  vmi: V1VirtualMachineInstance | undefined,
): boolean {
  const p = kv?.status?.printableStatus;
  return !!vmi || p === 'Running' || p === 'Paused' || p === 'Migrating' || p === 'Starting';
}

function condition(
  type: string,
  c: Check,
  previous: Condition[] | undefined,
  now: string,
  generation: number,
): Condition {
  return withTransitionTime<Condition>(
    previous,
    {
      type,
      status: c.ok ? 'True' : 'False',
      reason: c.reason,
      message: c.message,
      observedGeneration: generation,
    },
    now,
  );
}

export function restartPending(
  applied: EffectiveClass | undefined,
  current: EffectiveClass | undefined,
): boolean {
  if (!applied || !current) return false;
  return applied.name !== current.name || applied.generation !== current.generation;
}

/** Ready: the engine's word once the VM is handed over; before that, why it is not. */
function readyCheckOf(i: StatusInputs): Check {
  const printable = i.kv?.status?.printableStatus;
  if (!i.engineCheck.ok)
    return { ok: false, reason: i.engineCheck.reason, message: i.engineCheck.message };
  if (!i.classCheck.ok || !i.imageCheck.ok) {
    return {
      ok: false,
      reason: Reasons.NotTranslated,
      message:
        'the VM cannot be handed to the engine until its class and image resolve (see the conditions above)',
    };
  }
  if (i.acceptedCheck && !i.acceptedCheck.ok)
    return { ok: false, reason: i.acceptedCheck.reason, message: i.acceptedCheck.message };
  if (i.kv?.status?.ready)
    return { ok: true, reason: Reasons.Ready, message: 'the VM is running and ready' };
  return { ok: false, reason: printable ?? 'Pending', message: readyMessage(i.vm, printable) };
}

function restartCheckOf(i: StatusInputs, pending: boolean): Check {
  if (!pending)
    return { ok: false, reason: Reasons.UpToDate, message: 'the VM runs with its current class' };
  const c = i.current;
  const a = i.applied;
  return {
    ok: true,
    reason: Reasons.ClassChanged,
    message: `class ${c?.name} (generation ${c?.generation}: ${c?.cpus} vCPUs, ${c?.memory}) applies at the next power cycle; the VM runs with ${a?.name} (${a?.cpus} vCPUs, ${a?.memory})`,
  };
}

function conditionsOf(i: StatusInputs, pending: boolean): Condition[] {
  const gen = i.vm.metadata.generation ?? 0;
  const prev = i.vm.status?.conditions;
  const checks: [string, Check][] = [
    [VmConditions.ClassResolved, i.classCheck],
    [VmConditions.ImageResolved, i.imageCheck],
    [VmConditions.DisksReady, i.disksCheck],
    [VmConditions.EngineAvailable, i.engineCheck],
    [VmConditions.Ready, readyCheckOf(i)],
    [VmConditions.RestartPending, restartCheckOf(i, pending)],
    [VmConditions.AgentConnected, agentCheck(i.vmi)],
    [VmConditions.LiveMigratable, migratableCheck(i.vmi)],
    ...(i.powerCheck ? [[VmConditions.PowerAction, i.powerCheck] as [string, Check]] : []),
    ...(i.acceptedCheck ? [[VmConditions.EngineAccepted, i.acceptedCheck] as [string, Check]] : []),
  ];
  return checks.map(([type, check]) => condition(type, check, prev, i.now, gen));
}

/** What to change, in vmplane's terms, for each reason KubeVirt gives for not migrating. */
const MIGRATION_HINTS: Record<string, string> = {
  DisksNotLiveMigratable:
    'give the VM disks on a StorageClass whose StorageProfile offers ReadWriteMany (kubectl get storageprofile)',
  InterfaceNotLiveMigratable:
    'the pod network interface must use masquerade (vmplane does unless the VM asks for bridge)',
};

/**
 * LiveMigratable, mirrored from the instance (virt-handler's condition: the first reason that
 * holds, interfaces before disks), with what to change when it is False. A VM that does not run
 * cannot be migrated; an instance without the condition says Unknown.
 */
export function migratableCheck(vmi: V1VirtualMachineInstance | undefined): Check {
  if (!vmi || (vmi.status?.phase && vmi.status.phase !== 'Running'))
    return fail(Reasons.NotRunning, 'the VM does not run, so there is nothing to migrate');
  const c = vmi.status?.conditions?.find((x) => x.type === VmConditions.LiveMigratable);
  if (c?.status === 'True')
    return ok(VmConditions.LiveMigratable, 'the VM can live-migrate to another node');
  if (!c) return fail('Unknown', 'the engine has not said whether the VM can live-migrate');
  const hint = MIGRATION_HINTS[c.reason ?? ''];
  return fail(c.reason ?? 'NotMigratable', `${c.message ?? ''}${hint ? `: ${hint}` : ''}`);
}

/** Whether the instance runs with its guest agent connected (KubeVirt's VMI condition). */
function agentConnected(vmi: V1VirtualMachineInstance | undefined): boolean {
  return !!vmi?.status?.conditions?.some(
    (c) => c.type === VmConditions.AgentConnected && c.status === 'True',
  );
}

/**
 * AgentConnected, mirrored from the instance: virt-handler sets the VMI condition True while the
 * agent answers on its channel (org.qemu.guest_agent.0) and removes it when the agent goes
 * (KubeVirt's guest agent functional tests stop the agent and wait for it to disappear; virt-api
 * answers the agent's subresources only while it is there). Only True counts, so an engine that
 * writes it False reads the same. A VM that does not run has no agent to hear.
 */
export function agentCheck(vmi: V1VirtualMachineInstance | undefined): Check {
  if (!vmi || (vmi.status?.phase && vmi.status.phase !== 'Running'))
    return fail(Reasons.NotRunning, 'the VM does not run, so no guest agent can answer');
  if (agentConnected(vmi)) {
    const os = vmi.status?.guestOSInfo;
    const name = os?.prettyName || [os?.name, os?.version].filter(Boolean).join(' ');
    return ok(
      Reasons.AgentConnected,
      `the QEMU guest agent answers${name ? `; the guest runs ${name}` : ''}`,
    );
  }
  return fail(
    Reasons.AgentNotConnected,
    'no QEMU guest agent answers on the channel org.qemu.guest_agent.0: install and start qemu-guest-agent in the guest to see its OS, addresses and users',
  );
}

/**
 * The guest OS as the agent reports it (the VMI's guestOSInfo), only while the agent is
 * connected: KubeVirt leaves the last report in place after the agent goes, and vmplane does not
 * claim what no agent says any more.
 */
export function guestOSOf(
  vmi: V1VirtualMachineInstance | undefined,
): VirtualMachineStatus['guestOS'] | undefined {
  const os = vmi?.status?.guestOSInfo;
  if (!os || !agentConnected(vmi)) return undefined;
  const fields: [keyof NonNullable<VirtualMachineStatus['guestOS']>, string | undefined][] = [
    ['name', os.name],
    ['prettyName', os.prettyName],
    ['id', os.id],
    ['version', os.version],
    ['versionId', os.versionId],
    ['kernel', os.kernelRelease],
    ['kernelVersion', os.kernelVersion],
    ['machine', os.machine],
  ];
  const present = fields.filter(([, v]) => !!v);
  return present.length ? Object.fromEntries(present) : undefined;
}

/** What the running instance tells: node, addresses, interfaces and the guest OS. */
function instanceFields(vmi: V1VirtualMachineInstance | undefined): Partial<VirtualMachineStatus> {
  const out: Partial<VirtualMachineStatus> = {};
  const ifaces = vmi?.status?.interfaces ?? [];
  const ipsOf = (x: (typeof ifaces)[number]): string[] =>
    x.ipAddresses ?? (x.ipAddress ? [x.ipAddress] : []);
  const ips = ifaces.flatMap(ipsOf);
  if (vmi?.status?.nodeName) out.nodeName = vmi.status.nodeName;
  if (ips.length) {
    out.ipAddresses = ips;
    out.primaryIP = ips[0] as string;
  }
  if (ifaces.length)
    out.interfaces = ifaces.map((x) => ({
      ...(x.name ? { name: x.name } : {}),
      ...(x.mac ? { macAddress: x.mac } : {}),
      ipAddresses: ipsOf(x),
    }));
  const os = guestOSOf(vmi);
  if (os) out.guestOS = os;
  return out;
}

/** The one-word summary: the engine's, or why the engine has not got the VM. */
function printableOf(i: StatusInputs): string {
  if (!i.engineCheck.ok)
    return i.engineCheck.reason === Reasons.NameInUse ? 'NameInUse' : 'EngineUnavailable';
  if (i.acceptedCheck && !i.acceptedCheck.ok) return Reasons.EngineRefused;
  return i.kv?.status?.printableStatus ?? 'Pending';
}

export function computeVmStatus(i: StatusInputs): VirtualMachineStatus {
  const printable = i.kv?.status?.printableStatus;
  const refused = !!i.acceptedCheck && !i.acceptedCheck.ok;
  const pending = restartPending(i.applied, i.current) && isRunning(i.kv, i.vmi);
  const power = i.kv ? powerStateOf(printable) : undefined;
  const a = i.applied;
  const instance = instanceFields(i.vmi);
  // Every spec interface, running or not, with its network, MAC and allocated IP.
  const interfaces = statusInterfaces(i.vm, instance.interfaces);
  return {
    observedGeneration: i.vm.metadata.generation ?? 0,
    phase: !i.engineCheck.ok ? 'Pending' : refused ? 'Failed' : phaseOf(printable),
    printableStatus: printableOf(i),
    conditions: conditionsOf(i, pending),
    restartPending: pending,
    ...(power ? { powerState: power } : {}),
    ...instance,
    ...(interfaces ? { interfaces } : {}),
    ...(a
      ? {
          class: {
            name: a.name,
            cpus: a.cpus,
            memory: a.memory,
            reservation: a.reservation,
            generation: a.generation,
          },
        }
      : {}),
  };
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
      return "no node can run the VM: check its zone, class (CPU, memory, GPUs) and the nodes' capacity";
    default:
      return `the engine reports the VM ${printable}`;
  }
}
