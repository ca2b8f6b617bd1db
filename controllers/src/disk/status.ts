// What a VirtualMachineDisk's status says, from what the reconciler found: the engine's object
// (CDI's DataVolume or a plain claim), the claim, a resize outcome and the VM using the disk.
// Pure: the reconciler gathers the inputs and writes the result.
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type {
  V1beta1DataVolume,
  V1beta1DataVolumeSource,
} from '@kubevirt-ui-ext/kubevirt-api/containerized-data-importer';
import type {
  ClusterVirtualMachineImage,
  VirtualMachineDisk,
  VirtualMachineDiskStatus,
  VirtualMachineImage,
} from '../../../api/generated/types.ts';
import { compareQuantities, isQuantity } from '../../../api/src/quantity.ts';
import { DiskConditions, Reasons } from '../../../api/src/wellknown.ts';
import { withTransitionTime } from '../../../kube/src/conditions.ts';

type Condition = NonNullable<VirtualMachineDiskStatus['conditions']>[number];
type Phase = VirtualMachineDiskStatus['phase'];

export interface Readiness {
  phase: Phase;
  reason: string;
  message: string;
}

/** Why no DataVolume can be written yet: the source is missing, or (a disk to clone) not Ready. */
export interface SourceProblem {
  error: string;
  reason: typeof Reasons.SourceNotFound | typeof Reasons.SourceNotReady;
}

/** A clone of another VirtualMachineDisk: its claim, once that disk is Ready. */
function diskSource(
  disk: VirtualMachineDisk,
  name: string,
  source: VirtualMachineDisk | undefined,
): V1beta1DataVolumeSource | SourceProblem {
  const ns = disk.metadata.namespace ?? '';
  if (!source)
    return {
      reason: Reasons.SourceNotFound,
      error: `VirtualMachineDisk ${ns}/${name}, which this disk clones, does not exist`,
    };
  // CDI clones a claim only once it is populated; waiting here says so on the disk.
  if (source.status?.phase !== 'Ready' || !source.status.claimName)
    return {
      reason: Reasons.SourceNotReady,
      error: `waiting for VirtualMachineDisk ${name}, which this disk clones, to be Ready (it is ${source.status?.phase ?? 'Pending'})`,
    };
  return { pvc: { name: source.status.claimName, namespace: ns } };
}

/** What CDI should import into the disk, or a reason it cannot yet. */
export function dataVolumeSource(
  disk: VirtualMachineDisk,
  image: VirtualMachineImage | ClusterVirtualMachineImage | undefined,
  sourceDisk?: VirtualMachineDisk,
): V1beta1DataVolumeSource | SourceProblem {
  const src = disk.spec.source;
  if (!src || src.blank) return { blank: {} };
  if (src.disk) return diskSource(disk, src.disk.name, sourceDisk);
  if (src.pvc)
    return {
      pvc: { name: src.pvc.name, namespace: src.pvc.namespace ?? disk.metadata.namespace ?? '' },
    };
  if (!image)
    return {
      reason: Reasons.SourceNotFound,
      error: `image ${src.image?.kind ?? 'VirtualMachineImage'}/${src.image?.name} does not exist`,
    };
  const s = image.spec.source;
  if (s.http) return { http: { url: s.http.url } };
  if (s.registry) return { registry: { url: s.registry.url } };
  return {
    pvc: { name: s.pvc?.name ?? '', namespace: s.pvc?.namespace ?? image.metadata.namespace ?? '' },
  };
}

/**
 * CDI's word that a DataVolume will not succeed as it stands, by KubeVirt's rule for its
 * DataVolumeError status (KubeVirt v1.7 pkg/storage/types/dv.go HasDataVolumeErrors): phase
 * Failed, or the Running condition False with reason Error or ImagePullFailed (the importer
 * stopped; CDI may start it again, and the disk then says Importing again).
 */
export function dataVolumeError(
  dv: V1beta1DataVolume,
): { reason: string; message: string } | undefined {
  const running = dv.status?.conditions?.find((c) => c.type === 'Running');
  if (dv.status?.phase === 'Failed')
    return {
      reason: running?.reason || 'Failed',
      message: running?.message || 'CDI reports the DataVolume Failed',
    };
  if (
    running?.status === 'False' &&
    (running.reason === 'Error' || running.reason === 'ImagePullFailed')
  )
    return { reason: running.reason, message: running.message || 'the importer stopped' };
  return undefined;
}

/** Disk readiness from the DataVolume's phase (CDI) or the claim's (plain PVC). */
export function diskPhase(
  dv: V1beta1DataVolume | undefined,
  pvc: V1PersistentVolumeClaim | undefined,
): Readiness {
  if (dv) return dataVolumePhase(dv);
  if (pvc?.status?.phase === 'Bound')
    return { phase: 'Ready', reason: Reasons.Ready, message: 'the claim is bound' };
  return {
    phase: 'Pending',
    reason: Reasons.ClaimPending,
    message: 'waiting for the claim to be bound',
  };
}

function dataVolumePhase(dv: V1beta1DataVolume): Readiness {
  const p = dv.status?.phase ?? 'Pending';
  if (p === 'Succeeded')
    return { phase: 'Ready', reason: Reasons.Ready, message: 'the disk is ready' };
  const error = dataVolumeError(dv);
  if (error)
    return {
      phase: 'Failed',
      reason: Reasons.ImportFailed,
      message: `CDI's DataVolume ${dv.metadata?.name ?? ''} is ${p} (${error.reason}): ${error.message}`,
    };
  if (/InProgress|Scheduled|Importing|Cloning|Upload/i.test(p)) {
    return {
      phase: 'Importing',
      reason: p,
      message: `CDI is filling the disk (${p}${dv.status?.progress ? `, ${dv.status.progress}` : ''})`,
    };
  }
  if (p === 'WaitForFirstConsumer' || p === 'PendingPopulation')
    return {
      phase: 'Pending',
      reason: p,
      message: 'the storage class binds volumes when a VM first uses them',
    };
  return { phase: 'Pending', reason: p, message: `CDI reports ${p}` };
}

/** Why a disk that needs CDI cannot be filled without it. */
export function needsCdi(disk: VirtualMachineDisk): Readiness {
  const src = disk.spec.source;
  const what = src?.image
    ? `image ${src.image.name}`
    : src?.disk
      ? `VirtualMachineDisk ${src.disk.name}`
      : `claim ${src?.pvc?.name}`;
  return {
    phase: 'Pending',
    reason: Reasons.CDINotInstalled,
    message: `filling a disk from ${what} needs CDI (cdi.kubevirt.io), which is not installed: install CDI, or use a blank disk`,
  };
}

/** Another object (a user's claim or DataVolume) holds the disk's name: vmplane leaves it alone. */
export function nameInUse(foreign: string): Readiness {
  return {
    phase: 'Failed',
    reason: Reasons.NameInUse,
    message: `${foreign} already has this disk's name; vmplane neither adopts nor deletes it: rename the disk or remove that object`,
  };
}

/** Whether the disk's storage was there once (so its disappearance loses data). */
export function wasProvisioned(disk: VirtualMachineDisk): boolean {
  return disk.status?.phase === 'Ready' || disk.status?.phase === 'Lost';
}

/** The disk's storage was deleted outside vmplane after it was ready: reported, not recreated empty. */
export function lost(what: string): Readiness {
  return {
    phase: 'Lost',
    reason: Reasons.ClaimLost,
    message: `${what} was deleted outside vmplane after the disk was ready; vmplane does not recreate it empty: restore it under the same name (from a backup or snapshot), or delete this disk`,
  };
}

/** The outcome of growing the claim to spec.size, when it is smaller. */
export type ResizeOutcome = { outcome: 'waiting' } | { outcome: 'refused'; message: string };

export interface DiskStatusInputs {
  disk: VirtualMachineDisk;
  now: string;
  readiness: Readiness;
  /** CDI's import progress, when it reports one. */
  progress?: string;
  /** How many times CDI's importer restarted, when it says. */
  restarts?: number;
  pvc?: V1PersistentVolumeClaim;
  resize?: ResizeOutcome;
  /** The name of the VM the disk is attached to. */
  attachedTo?: string;
}

/** A bound claim that asks for the disk's size but has less so far: the storage is growing it. */
function growing(i: DiskStatusInputs): string | undefined {
  const capacity = i.pvc?.status?.capacity?.storage;
  if (i.pvc?.status?.phase !== 'Bound' || !capacity) return undefined;
  const has = String(capacity);
  if (!isQuantity(has) || !isQuantity(i.disk.spec.size)) return undefined;
  return compareQuantities(has, i.disk.spec.size) < 0 ? has : undefined;
}

function resizeCondition(i: DiskStatusInputs): Omit<Condition, 'lastTransitionTime'> | undefined {
  const has = i.resize ? undefined : growing(i);
  if (has)
    return {
      type: DiskConditions.Resized,
      status: 'False',
      reason: Reasons.Resizing,
      message: `the claim asks for ${i.disk.spec.size} and has ${has} so far: the storage is growing it (the guest sees the new size after its next start, or live where the engine supports it)`,
    };
  if (!i.resize) return undefined;
  if (i.resize.outcome === 'waiting') {
    return {
      type: DiskConditions.Resized,
      status: 'False',
      reason: Reasons.WaitingForBinding,
      message: `the claim grows to ${i.disk.spec.size} once it is bound`,
    };
  }
  return {
    type: DiskConditions.Resized,
    status: 'False',
    reason: Reasons.ResizeRefused,
    message: `the claim could not grow to ${i.disk.spec.size}: ${i.resize.message}`,
  };
}

/** The status of a disk that is not being deleted. */
export function diskStatus(i: DiskStatusInputs): VirtualMachineDiskStatus {
  const prev = i.disk.status?.conditions;
  const r = i.readiness;
  const ready = withTransitionTime<Condition>(
    prev,
    {
      type: DiskConditions.Ready,
      status: r.phase === 'Ready' ? 'True' : 'False',
      reason: r.reason,
      message: r.message,
    },
    i.now,
  );
  const resize = resizeCondition(i);
  const capacity = i.pvc?.status?.capacity?.storage;
  return {
    observedGeneration: i.disk.metadata.generation ?? 0,
    phase: r.phase,
    // A namesake that is not the disk's is never named as its claim (a VM would mount it).
    ...(r.reason === Reasons.NameInUse ? {} : { claimName: i.disk.metadata.name }),
    conditions: resize ? [ready, withTransitionTime<Condition>(prev, resize, i.now)] : [ready],
    ...(i.progress ? { progress: i.progress } : {}),
    ...(i.restarts ? { restarts: i.restarts } : {}),
    ...(capacity ? { capacity: String(capacity) } : {}),
    ...(i.attachedTo ? { attachedTo: i.attachedTo } : {}),
  };
}

/** The status of a disk whose deletion waits for the VM that uses it to let it go. */
export function inUseStatus(
  disk: VirtualMachineDisk,
  vmName: string,
  now: string,
): VirtualMachineDiskStatus {
  const others = (disk.status?.conditions ?? []).filter((c) => c.type !== DiskConditions.Deleting);
  const deleting = withTransitionTime<Condition>(
    disk.status?.conditions,
    {
      type: DiskConditions.Deleting,
      status: 'False',
      reason: Reasons.InUse,
      message: `attached to VM ${vmName}: detach it (remove it from spec.disks) and the deletion completes`,
    },
    now,
  );
  return { ...disk.status, conditions: [...others, deleting] };
}
