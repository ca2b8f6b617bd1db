// The status of a VirtualMachineInstance as virt-controller and virt-handler write it, from what
// the local engine observed: the QEMU process, QMP's run state, the claims it looked up, the DHCP
// exchange it saw, the readiness probe it ran. Nothing here is assumed: a field whose observation
// is missing stays unset. Pure; the engine does the I/O.
// Follows KubeVirt v1.7.0: pkg/virt-controller/watch/vmi/lifecycle.go (syncReadyConditionFromPod,
// the phase switch), pkg/controller/conditions.go (CheckFailure) and
// pkg/virt-controller/watch/vmi/datavolumes.go (areDataVolumesReady, aggregateDataVolumesConditions);
// the guest agent's part as virt-handler writes it (guest-agent-status.ts).
import {
  mergeInterfaces,
  type AgentInterface,
  type GuestOSInfo,
  type StatusInterface,
} from './guest-agent-status.ts';
import type { MigrationState } from './migration/state.ts';

export type VmiPhase = 'Pending' | 'Scheduling' | 'Scheduled' | 'Running' | 'Succeeded' | 'Failed';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
}

/** What the engine hears of the guest agent (agent-poller.ts). */
export interface AgentObservation {
  /** The channel is open and the agent answers. */
  connected: boolean;
  /** Why the agent is not supported (AgentVersionNotSupported), if it is not. */
  unsupported?: string;
  os?: GuestOSInfo;
  interfaces?: AgentInterface[];
}

/** KubeVirt's readiness probes (spec.readinessProbe), by the handler they name. */
export type ProbeKind = 'guestAgentPing' | 'exec' | 'tcpSocket' | 'httpGet';

/** What the engine saw of the readiness probe: none asked for, or its last result. */
export type Readiness =
  { probe: 'none' } | { probe: ProbeKind; succeeded: boolean; message: string };

export interface InstanceObservation {
  phase: VmiPhase;
  /** The instance waits for a claim that does not exist (no launcher can be made). */
  claimMissing?: string;
  /** The machine has no room for the guest now (the launcher pod would be unschedulable). */
  unschedulable?: string;
  /** The guest could not start (QEMU refused, a disk could not be made). */
  failure?: { reason: string; message: string };
  /** QMP says the guest is paused by the user. */
  paused?: boolean;
  /** The node the guest runs on (this machine), once its process runs. */
  nodeName?: string;
  /** The interfaces the guest has, with the address the engine saw it take, if any. */
  interfaces?: { name: string; mac: string; ip?: string }[];
  readiness?: Readiness;
  /** The VMI's DataVolume volumes and whether each is ready (none: no condition). */
  dataVolumes?: { name: string; ready: boolean }[];
  /** KubeVirt's LiveMigratable condition for the running guest (live-migratable.ts). */
  liveMigratable?: Condition;
  /** The guest agent, while the guest runs. */
  agent?: AgentObservation;
  /** The node being drained that the guest is to leave (KubeVirt's evacuation). */
  evacuationNodeName?: string;
  /** The live migration under way, or the last one (migration/state.ts). */
  migrationState?: MigrationState;
}

/** Every field of a migration state, null: what a newer state does not set is removed. */
const CLEARED_MIGRATION_STATE: Record<keyof MigrationState, null> = {
  migrationUid: null,
  sourceNode: null,
  sourcePod: null,
  targetNode: null,
  targetPod: null,
  targetNodeAddress: null,
  targetNodeDomainDetected: null,
  targetNodeDomainReadyTimestamp: null,
  startTimestamp: null,
  endTimestamp: null,
  completed: null,
  failed: null,
  failureReason: null,
  abortRequested: null,
  abortStatus: null,
  mode: null,
  migrationPolicyName: null,
  migrationConfiguration: null,
};

const notScheduled = {
  reason: 'PodNotExists',
  message: 'virt-launcher pod has not yet been scheduled',
} as const;

/** The Ready condition: the launcher pod's readiness, which follows the readiness probe. */
export function readyCondition(o: InstanceObservation): Condition {
  const notReady = (reason: string, message: string): Condition => ({
    type: 'Ready',
    status: 'False',
    reason,
    message,
  });
  // No launcher pod: nothing scheduled yet, or the instance waits for a claim.
  if (o.phase === 'Pending' && !o.unschedulable)
    return notReady(notScheduled.reason, notScheduled.message);
  // A finished guest's launcher is terminating (its pod stays until the instance goes).
  if (o.phase === 'Succeeded' || o.phase === 'Failed')
    return notReady('PodTerminating', 'virt-launcher pod is terminating');
  if (o.phase !== 'Running')
    return notReady('GuestNotRunning', 'Guest VM is not reported as running');
  // The launcher's readiness: ready once the domain runs, or once the probe has passed. A paused
  // guest's pod is made unready (virt-controller's syncPausedConditionToPod).
  if (o.paused)
    return notReady(
      'ReadinessGatesNotReady',
      'the status of pod readiness gate "kubevirt.io/virtual-machine-unpaused" is not "True", but False',
    );
  const r = o.readiness ?? { probe: 'none' };
  if (r.probe === 'none' || r.succeeded) return { type: 'Ready', status: 'True' };
  // kubelet's words for a pod whose probe fails; the engine's own detail follows in brackets.
  return notReady(
    'ContainersNotReady',
    `containers with unready status: [compute] (local engine: ${r.message})`,
  );
}

/** Every condition the instance carries, in KubeVirt's order of writing. */
export function instanceConditions(o: InstanceObservation): Condition[] {
  const out: Condition[] = [];
  const waiting = o.claimMissing
    ? `PVC ${o.claimMissing} does not exist, waiting for it to appear`
    : undefined;
  if (waiting) {
    out.push({
      type: 'Synchronized',
      status: 'False',
      reason: 'FailedPvcNotFound',
      message: waiting,
    });
    out.push({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: waiting });
  } else if (o.unschedulable)
    out.push({
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message: o.unschedulable,
    });
  if (o.failure)
    out.push({
      type: 'Synchronized',
      status: 'False',
      reason: o.failure.reason,
      message: o.failure.message,
    });
  if (o.dataVolumes?.length) {
    const all = o.dataVolumes.every((d) => d.ready);
    out.push({
      type: 'DataVolumesReady',
      status: all ? 'True' : 'False',
      reason: all ? 'AllDVsReady' : 'NotAllDVsReady',
      message: all
        ? "All of the VMI's DVs are bound and ready"
        : "Not all of the VMI's DVs are ready",
    });
  }
  out.push(readyCondition(o));
  if (o.phase === 'Running' && o.liveMigratable) out.push(o.liveMigratable);
  if (o.phase === 'Running' && o.paused)
    out.push({
      type: 'Paused',
      status: 'True',
      reason: 'PausedByUser',
      message: 'VMI was paused by user',
    });
  out.push(...agentConditions(o));
  return out;
}

/**
 * virt-handler's updateGuestAgentConditions (pkg/virt-handler/vm.go): AgentConnected True while
 * the agent is connected, and no condition at all otherwise (virt-handler removes it, it never
 * writes False); AgentVersionNotSupported while a connected agent lacks a required command.
 */
export function agentConditions(o: InstanceObservation): Condition[] {
  if (o.phase !== 'Running' || !o.agent?.connected) return [];
  return [
    { type: 'AgentConnected', status: 'True' },
    ...(o.agent.unsupported
      ? [
          {
            type: 'AgentVersionNotSupported',
            status: 'True' as const,
            reason: o.agent.unsupported,
          },
        ]
      : []),
  ];
}

/** The probe time a condition keeps while it holds (set when it was added, as virt-handler). */
function withProbeTimes(
  conditions: Condition[],
  previous: readonly Condition[] | undefined,
  now: Date,
): Condition[] {
  return conditions.map((c) => {
    if (c.type !== 'AgentConnected' && c.type !== 'AgentVersionNotSupported') return c;
    const had = previous?.find((p) => p.type === c.type && p.status === c.status);
    return { ...c, lastProbeTime: had?.lastProbeTime ?? `${now.toISOString().slice(0, 19)}Z` };
  });
}

export interface PhaseTransition {
  phase: VmiPhase;
  phaseTransitionTimestamp: string;
}

/** phaseTransitionTimestamps with the new phase appended when it changed. */
export function withTransition(
  previous: readonly PhaseTransition[] | undefined,
  phase: VmiPhase,
  now: Date,
): PhaseTransition[] {
  const list = [...(previous ?? [])];
  // Each phase is recorded once (SetVMIPhaseTransitionTimestamp).
  if (list.some((p) => p.phase === phase)) return list;
  // KubeVirt writes the time with second precision (metav1.Time).
  list.push({ phase, phaseTransitionTimestamp: `${now.toISOString().slice(0, 19)}Z` });
  return list;
}

/**
 * The status fields the engine owns, from its observation. A finished instance (Succeeded,
 * Failed) keeps no interfaces and is not ready: its guest is gone.
 */
export function instanceStatus(
  o: InstanceObservation,
  previous: { phaseTransitionTimestamps?: PhaseTransition[]; conditions?: Condition[] } | undefined,
  now: Date,
): Record<string, unknown> {
  const live = o.phase === 'Running';
  const agent = live && o.agent?.connected ? o.agent : undefined;
  const domain: StatusInterface[] = (o.interfaces ?? []).map((i) => ({
    name: i.name,
    mac: i.mac,
    ...(i.ip ? { ipAddress: i.ip, ipAddresses: [i.ip] } : {}),
    infoSource: 'domain',
  }));
  return {
    phase: o.phase,
    phaseTransitionTimestamps: withTransition(previous?.phaseTransitionTimestamps, o.phase, now),
    conditions: withProbeTimes(instanceConditions(o), previous?.conditions, now),
    ...(o.failure && o.phase === 'Failed' ? { reason: o.failure.reason } : {}),
    ...(o.nodeName ? { nodeName: o.nodeName } : {}),
    interfaces: live ? mergeInterfaces(domain, agent?.interfaces) : null,
    // The agent's facts only while it is heard: KubeVirt keeps the last OS info after the agent
    // went away; the engine claims nothing it no longer hears.
    guestOSInfo: agent?.os?.name ? agent.os : null,
    evacuationNodeName: live && o.evacuationNodeName ? o.evacuationNodeName : null,
    ...(o.migrationState
      ? {
          // Whole: a field of an earlier migration's state must not survive the merge patch.
          migrationState: { ...CLEARED_MIGRATION_STATE, ...o.migrationState },
          migrationMethod: 'LiveMigration',
          migrationTransport: 'Unix',
        }
      : {}),
  };
}
