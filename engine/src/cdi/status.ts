// A DataVolume's status from what is observed (pure): its claim, the claim's annotations (the
// importer's or cloner's progress as CDI's import-controller records it from its pod), the
// storage class's binding mode and the worker's progress. Follows CDI v1.65
// pkg/controller/datavolume/controller-base.go (updateStatus, updateConditions, emitEvent),
// conditions.go, import-controller.go and the clone controller's updateStatusPhase (the legacy,
// non-populator flow: CDI takes it for a storage class with no CSI driver, as the engine's are).
import { ANN } from './annotations.ts';

export interface DvCondition {
  type: 'Bound' | 'Ready' | 'Running';
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastHeartbeatTime?: string;
}

export interface DvStatus {
  phase?: string;
  progress?: string;
  restartCount?: number;
  claimName?: string;
  conditions?: DvCondition[];
}

export interface ClaimView {
  metadata?: {
    name?: string;
    annotations?: Record<string, string>;
    deletionTimestamp?: Date | string;
  };
  status?: { phase?: string };
}

export interface DvEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface DvFacts {
  name: string;
  status: DvStatus;
  op: 'import' | 'clone';
  /** The clone's source claim (namespace, name), for the clone's messages. */
  cloneSource?: { namespace: string; name: string };
  namespace: string;
  pvc?: ClaimView;
  /** The claim's class binds WaitForFirstConsumer. */
  wffc: boolean;
  /** What the running worker has read so far, as CDI scrapes it from its pod ("37.21%"). */
  progress?: string;
  /** Why there is no claim (CDI's event when a clone cannot start, say). */
  noClaim?: DvEvent;
  now: string;
}

/** CDI's updateCondition: a changed status moves the transition time; the rest is refreshed. */
function setCondition(
  list: DvCondition[],
  type: DvCondition['type'],
  status: DvCondition['status'],
  message: string,
  reason: string,
  now: string,
): DvCondition[] {
  const old = list.find((c) => c.type === type);
  const next: DvCondition = old
    ? { ...old }
    : { type, status, lastTransitionTime: now, lastHeartbeatTime: now };
  if (old && old.status !== status) {
    next.lastTransitionTime = now;
    next.lastHeartbeatTime = now;
  } else if (old && (old.message !== message || old.reason !== reason))
    next.lastHeartbeatTime = now;
  next.status = status;
  next.message = message;
  next.reason = reason;
  return old ? list.map((c) => (c === old ? next : c)) : [...list, next];
}

type PhaseStep = { phase?: string; progress?: string; event?: DvEvent };

/** import-controller.go updateStatusPhase: the phase from the importer's pod phase. */
function importPhase(name: string, pvc: ClaimView, current?: string): PhaseStep {
  const a = pvc.metadata?.annotations ?? {};
  const pod = a[ANN.podPhase];
  if (pod !== 'Succeeded' && !(ANN.importPod in a && pvc.status?.phase === 'Bound')) return {};
  if (pod === undefined) return { phase: 'ImportScheduled' };
  const ev = (type: DvEvent['type'], reason: string, message: string): DvEvent => ({
    type,
    reason,
    message,
  });
  switch (pod) {
    case 'Pending':
      return {
        phase: 'ImportScheduled',
        event: ev('Normal', 'ImportScheduled', `Import into ${name} scheduled`),
      };
    case 'Running':
      return {
        phase: 'ImportInProgress',
        event: ev('Normal', 'ImportInProgress', `Import into ${name} in progress`),
      };
    case 'Failed':
      return {
        phase: a[ANN.importFatalError] === 'true' ? 'Failed' : (current ?? 'ImportScheduled'),
        event: ev('Warning', 'ImportFailed', `Failed to import into PVC ${name}`),
      };
    case 'Succeeded':
      return {
        phase: 'Succeeded',
        progress: '100.0%',
        event: ev('Normal', 'ImportSucceeded', `Successfully imported into PVC ${name}`),
      };
  }
  return { phase: 'ImportScheduled' };
}

/** The clone controller's updateStatusPhase (host-assisted clone, its source pod's phase). */
function clonePhase(f: DvFacts, pvc: ClaimView): PhaseStep {
  const a = pvc.metadata?.annotations ?? {};
  const pod = a[ANN.podPhase];
  const src = f.cloneSource ?? { namespace: f.namespace, name: '' };
  const words = `from ${src.namespace}/${src.name} into ${f.namespace}/${f.name}`;
  if (pod !== 'Succeeded' && !(ANN.cloneRequest in a && pvc.status?.phase === 'Bound')) return {};
  switch (pod) {
    case undefined:
      return { phase: 'CloneScheduled' };
    case 'Pending':
      return {
        phase: 'CloneScheduled',
        event: { type: 'Normal', reason: 'CloneScheduled', message: `Cloning ${words} scheduled` },
      };
    case 'Running':
      return {
        phase: 'CloneInProgress',
        event: {
          type: 'Normal',
          reason: 'CloneInProgress',
          message: `Cloning ${words} in progress`,
        },
      };
    case 'Failed':
      return {
        phase: a[ANN.importFatalError] === 'true' ? 'Failed' : 'CloneScheduled',
        event: { type: 'Warning', reason: 'CloneFailed', message: `Cloning ${words} failed` },
      };
    default:
      return {
        phase: 'Succeeded',
        progress: '100.0%',
        event: {
          type: 'Normal',
          reason: 'CloneSucceeded',
          message: `Successfully cloned ${words}`,
        },
      };
  }
}

/** The phase as updateStatus decides it, with the event of a phase change. */
function nextPhase(f: DvFacts): PhaseStep {
  const pvc = f.pvc;
  const current = f.status.phase;
  if (!pvc) return { phase: current || 'Pending' };
  if (pvc.metadata?.deletionTimestamp) return { phase: current };
  const work = (): PhaseStep =>
    f.op === 'import' ? importPhase(f.name, pvc, current) : clonePhase(f, pvc);
  if (pvc.metadata?.annotations?.[ANN.podPhase] === 'Succeeded') return work();
  switch (pvc.status?.phase) {
    case 'Bound': {
      const bound = ['Pending', 'WaitForFirstConsumer', 'Unknown', '', undefined].includes(current)
        ? 'PVCBound'
        : current;
      const step = work();
      return { ...step, phase: step.phase ?? bound };
    }
    case 'Lost':
      return {
        phase: 'Failed',
        event: { type: 'Warning', reason: 'ErrClaimLost', message: `PVC ${f.name} lost` },
      };
    case 'Pending':
    case undefined: {
      const waiting = f.wffc && !pvc.metadata?.annotations?.[ANN.selectedNode];
      return { phase: waiting ? 'WaitForFirstConsumer' : 'Pending' };
    }
    default:
      return { phase: 'Unknown' };
  }
}

/** conditions.go updateBoundCondition (with the Ready condition as updateConditions sets it). */
function boundAndReady(f: DvFacts, phase: string | undefined, list: DvCondition[]): DvCondition[] {
  const now = f.now;
  const pvc = f.pvc;
  const ready = phase === 'Succeeded' ? 'True' : phase === 'Unknown' ? 'Unknown' : 'False';
  if (!pvc) {
    const message = f.noClaim?.message ?? 'No PVC found';
    const reason = f.noClaim?.reason ?? 'NotFound';
    const next = setCondition(list, 'Bound', 'False', message, reason, now);
    return setCondition(
      next,
      'Ready',
      ready,
      f.noClaim?.message ?? '',
      f.noClaim?.reason ?? '',
      now,
    );
  }
  const name = pvc.metadata?.name ?? f.name;
  let next: DvCondition[];
  if (pvc.status?.phase === 'Bound')
    next = setCondition(list, 'Bound', 'True', `PVC ${name} Bound`, 'Bound', now);
  else if (pvc.status?.phase === 'Lost')
    next = setCondition(list, 'Bound', 'False', 'Claim Lost', 'ClaimLost', now);
  else next = setCondition(list, 'Bound', 'False', `PVC ${name} Pending`, 'Pending', now);
  return setCondition(next, 'Ready', ready, '', '', now);
}

/** conditions.go updateRunningCondition: the importer's Running condition from the claim. */
function running(f: DvFacts, list: DvCondition[]): DvCondition[] {
  const a = f.pvc?.metadata?.annotations ?? {};
  const value = a[ANN.running]?.toLowerCase();
  const message = a[ANN.runningMessage] ?? '';
  const reason = a[ANN.runningReason] ?? '';
  if (a[ANN.podSchedulable] === 'false')
    return setCondition(
      list,
      'Running',
      'False',
      'Importer pod cannot be scheduled',
      'Unschedulable',
      f.now,
    );
  if (value === 'true') {
    const next = setCondition(list, 'Running', 'True', message, reason, f.now);
    return setCondition(next, 'Ready', 'False', '', 'TransferRunning', f.now);
  }
  const status = value === 'false' || value === undefined ? 'False' : 'Unknown';
  return setCondition(list, 'Running', status, message, reason, f.now);
}

/** updateConditions: Bound, Ready, Running, in that order. */
function conditions(f: DvFacts, phase: string | undefined): DvCondition[] {
  const list = running(f, boundAndReady(f, phase, f.status.conditions ?? []));
  const order = ['Bound', 'Ready', 'Running'];
  return [...list].sort((x, y) => order.indexOf(x.type) - order.indexOf(y.type));
}

const cond = (l: DvCondition[] | undefined, t: DvCondition['type']): DvCondition | undefined =>
  l?.find((c) => c.type === t);

/** emitEvent, emitBoundConditionEvent, emitFailureConditionEvent. */
function events(f: DvFacts, next: DvStatus, step: PhaseStep): DvEvent[] {
  const out: DvEvent[] = [];
  if (step.event && f.status.phase !== next.phase) out.push(step.event);
  else if (!f.pvc && f.noClaim) out.push(f.noClaim);
  const b = cond(next.conditions, 'Bound');
  const b0 = cond(f.status.conditions, 'Bound');
  if (b && (!b0 || b0.status !== b.status || b0.reason !== b.reason || b0.message !== b.message))
    out.push({ type: 'Normal', reason: b.reason ?? '', message: b.message ?? '' });
  const r = cond(next.conditions, 'Running');
  const r0 = cond(f.status.conditions, 'Running');
  const ready = cond(next.conditions, 'Ready');
  const boundOrPopulating = b?.status === 'True';
  if (ready?.status === 'False' && r?.status === 'False' && boundOrPopulating && r.message) {
    if (!r0 || r0.message !== r.message)
      out.push({ type: 'Warning', reason: r.reason ?? '', message: r.message });
  }
  return out;
}

/** The DataVolume's next status and the events CDI records with it. */
export function dataVolumeStatus(f: DvFacts): { status: DvStatus; events: DvEvent[] } {
  const step = nextPhase(f);
  const phase = step.phase;
  const restarts = Number(f.pvc?.metadata?.annotations?.[ANN.podRestarts]);
  const final = phase === 'Succeeded' || phase === 'Failed';
  const progress =
    step.progress ??
    (!final && f.progress ? f.progress : f.status.progress && f.pvc ? f.status.progress : 'N/A');
  const status: DvStatus = {
    ...(phase ? { phase } : {}),
    progress: f.pvc ? progress : (f.status.progress ?? 'N/A'),
    ...(Number.isInteger(restarts) && restarts >= 0 ? { restartCount: restarts } : {}),
    ...(f.pvc?.metadata?.name ? { claimName: f.pvc.metadata.name } : {}),
    conditions: conditions(f, phase),
  };
  if (status.restartCount === undefined && f.status.restartCount !== undefined)
    status.restartCount = f.status.restartCount;
  return { status, events: events(f, status, step) };
}

/** Percent of bytes read, as CDI formats it ("%.2f%%"). */
export const progressText = (read: number, total: number): string =>
  `${((100 * read) / Math.max(total, 1)).toFixed(2)}%`;
