// What a VM needs before it is handed over, as the caches have it: its class (and whether
// KubeVirt permits the class's devices), its image, its disks (VirtualMachineDisks it references,
// DataVolumes it makes, one lost after it was ready) and whether KubeVirt and CDI are there. Each
// becomes a check; nothing is written here.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { V1beta1DataVolume } from '@kubevirt-ui-ext/kubevirt-api/containerized-data-importer';
import type {
  VirtualMachine,
  VirtualMachineClass,
  VirtualMachineDisk,
} from '../../../api/generated/types.ts';
import type { AnyImage } from '../../../kube/src/lookups.ts';
import { describeForeign, isControlledBy } from '../../../kube/src/ownership.ts';
import { Reasons, reservationOf, VmConditions } from '../../../api/src/wellknown.ts';
import type { Check } from '../../../decisions/src/check.ts';
import {
  activeKubeVirt,
  devicesCheck,
  engineCheck,
  type KubeVirtCr,
} from '../../../decisions/src/kubevirt-install.ts';
import { fail, ok } from '../../../decisions/src/check.ts';
import { CDI_CRD, established, KUBEVIRT_CRD, type VmContext } from './context.ts';
import { dataVolumeNames, isVmDataVolume } from './names.ts';
import { dataVolumeError } from '../disk/status.ts';
import type { NetworkLike } from '../network/types.ts';

/** What a VM resolves to, before anything is written. */
export interface Resolution {
  engine: boolean;
  klass?: VirtualMachineClass;
  image?: AnyImage;
  referenced: Record<string, VirtualMachineDisk | undefined>;
  /** The Networks the VM's interfaces name, by name (undefined: a NetworkAttachmentDefinition). */
  networks: Record<string, NetworkLike | undefined>;
  /** A VirtualMachineDisk the VM uses has no claim of its own yet: the VM is not handed over. */
  unclaimed: boolean;
  classCheck: Check;
  imageCheck: Check;
  disksCheck: Check;
  engineCheck: Check;
}

/** The VM's class, image and disks as they stand, and whether KubeVirt and CDI are there. */
export function resolve(context: VmContext, vm: VirtualMachine, namespace: string): Resolution {
  const kubevirts = context.kubevirts.list() as KubeVirtCr[];
  const engineChecked = engineCheck(established(context.crds, KUBEVIRT_CRD), kubevirts);
  const engine = engineChecked.ok;
  const cdi = established(context.crds, CDI_CRD);
  const klass = vm.spec.className
    ? (context.classes.get(vm.spec.className) as VirtualMachineClass | undefined)
    : undefined;
  const devices =
    klass && engine
      ? devicesCheck(klass.spec.hardware.devices, activeKubeVirt(kubevirts))
      : undefined;
  const classCheck = klass
    ? devices && !devices.ok
      ? fail(devices.reason, `class ${klass.metadata.name}: ${devices.message}`)
      : ok(
          'Resolved',
          `class ${klass.metadata.name}: ${klass.spec.hardware.cpus} vCPUs, ${klass.spec.hardware.memory}, ${reservationOf(klass)}`,
        )
    : fail(
        'ClassNotFound',
        `VirtualMachineClass "${vm.spec.className ?? ''}" does not exist: create it or set spec.className to an existing class (kubectl get vmclass)`,
      );
  const { image, imageCheck } = resolveImage(context, vm, namespace);
  const { referenced, disksCheck, unclaimed } = resolveDisks(context, vm, namespace, cdi);
  return {
    engine,
    ...(klass ? { klass } : {}),
    ...(image ? { image } : {}),
    referenced,
    networks: networksOf(context, vm),
    unclaimed,
    classCheck,
    imageCheck,
    disksCheck,
    engineCheck: engineChecked,
  };
}

/** The Networks the VM's interfaces name, as the cache has them. */
function networksOf(
  context: VmContext,
  vm: VirtualMachine,
): Record<string, NetworkLike | undefined> {
  const out: Record<string, NetworkLike | undefined> = {};
  for (const i of vm.spec.network?.interfaces ?? [])
    if (i.network) out[i.network] = context.networks.get(i.network) as NetworkLike | undefined;
  return out;
}

function resolveImage(
  context: VmContext,
  vm: VirtualMachine,
  namespace: string,
): { image?: AnyImage; imageCheck: Check } {
  if (!vm.spec.image) return { imageCheck: ok('NoImage', 'the VM boots from a disk') };
  const kind = vm.spec.image.kind ?? 'VirtualMachineImage';
  const image = (
    kind === 'VirtualMachineImage'
      ? context.images.get(vm.spec.image.name, namespace)
      : context.clusterImages.get(vm.spec.image.name)
  ) as AnyImage | undefined;
  if (image) return { image, imageCheck: ok('Resolved', `${kind} ${vm.spec.image.name}`) };
  return {
    imageCheck: fail(
      'ImageNotFound',
      `${kind} "${vm.spec.image.name}" does not exist${kind === 'VirtualMachineImage' ? ` in namespace ${namespace}` : ''}`,
    ),
  };
}

/** The VirtualMachineDisks a VM references, and which of them are missing or not ready. */
function referencedDisks(
  context: VmContext,
  vm: VirtualMachine,
  namespace: string,
): {
  referenced: Record<string, VirtualMachineDisk | undefined>;
  problems: string[];
  unclaimed: boolean;
  /** A disk failed (its DataVolume did): DataVolumeError. */
  failed: boolean;
} {
  const referenced: Record<string, VirtualMachineDisk | undefined> = {};
  const problems: string[] = [];
  let unclaimed = false;
  let failed = false;
  for (const vmDisk of vm.spec.disks ?? []) {
    if (!vmDisk.virtualMachineDiskName) continue;
    const disk = context.disks.get(vmDisk.virtualMachineDiskName, namespace) as
      VirtualMachineDisk | undefined;
    referenced[vmDisk.virtualMachineDiskName] = disk;
    // Without the disk's own claim there is nothing the VM may mount (a namesake is not it).
    if (!disk?.status?.claimName) unclaimed = true;
    if (!disk) problems.push(`VirtualMachineDisk ${vmDisk.virtualMachineDiskName} does not exist`);
    else if (disk.status?.phase !== 'Ready') {
      failed ||= disk.status?.phase === 'Failed';
      // The disk's own Ready condition says why (CDI's phase, progress, reason and message).
      const why = disk.status?.conditions?.find((c) => c.type === 'Ready')?.message;
      problems.push(
        `VirtualMachineDisk ${vmDisk.virtualMachineDiskName} is ${disk.status?.phase ?? 'Pending'}${why ? `: ${why}` : ''}`,
      );
    }
  }
  return { referenced, problems, unclaimed, failed };
}

/**
 * Whether every disk of the VM was ready at its current generation (so a DataVolume gone now was
 * lost, not new). Once a loss is reported it stays reported until the spec changes.
 */
export function disksWereReady(vm: VirtualMachine): boolean {
  return !!vm.status?.conditions?.some(
    (condition) =>
      condition.type === VmConditions.DisksReady &&
      (condition.status === 'True' || condition.reason === Reasons.ClaimLost) &&
      condition.observedGeneration === vm.metadata.generation,
  );
}

/**
 * The DataVolumes made with the VM (boot disk, inline disks) that are not its own, have not
 * succeeded yet, or were deleted outside vmplane after they were ready (`lost`: KubeVirt makes
 * them again from the template, empty, so the VM says so).
 */
function dataVolumeProblems(
  context: VmContext,
  vm: VirtualMachine,
  namespace: string,
): { problems: string[]; lost: boolean; failed: boolean } {
  const problems: string[] = [];
  let lost = false;
  let failed = false;
  const vmRef = { name: vm.metadata.name ?? '', uid: vm.metadata.uid };
  const wereReady = disksWereReady(vm);
  for (const dvName of dataVolumeNames(vm)) {
    const dv = context.dataVolumes.get(dvName, namespace) as V1beta1DataVolume | undefined;
    if (dv && !isVmDataVolume(dv as KubernetesObject, vmRef, ownerKvUid(context, vm, namespace))) {
      problems.push(
        `${describeForeign('DataVolume', dv as KubernetesObject)} is in the way (NameInUse); vmplane leaves it alone`,
      );
      continue;
    }
    if (!dv && wereReady) {
      lost = true;
      problems.push(
        `DataVolume ${dvName} was deleted outside vmplane after the disk was ready; KubeVirt makes it again from the VM's template, empty (or imported afresh for a boot disk): restore its data from a backup or snapshot`,
      );
      continue;
    }
    const problem = dataVolumeProblem(dvName, dv);
    if (problem) problems.push(problem.message);
    failed ||= !!problem?.failed;
  }
  return { problems, lost, failed };
}

/**
 * What a DataVolume of the VM lacks, in CDI's words: its phase and progress while it works, its
 * reason and message once it failed (KubeVirt's DataVolumeError rule, dataVolumeError).
 */
export function dataVolumeProblem(
  name: string,
  dv: V1beta1DataVolume | undefined,
): { message: string; failed: boolean } | undefined {
  const phase = dv?.status?.phase;
  if (phase === 'Succeeded') return undefined;
  const error = dv ? dataVolumeError(dv) : undefined;
  if (error)
    return {
      failed: true,
      message: `DataVolume ${name} is ${phase ?? 'Pending'} (${error.reason}): ${error.message}`,
    };
  const running = dv?.status?.conditions?.find((c) => c.type === 'Running');
  // A WaitForFirstConsumer class binds (and CDI fills) the volume once the VM first starts.
  const wffc =
    phase === 'WaitForFirstConsumer' || phase === 'PendingPopulation'
      ? 'its storage class binds it when the VM first starts'
      : undefined;
  const detail = [
    dv?.status?.progress,
    wffc ?? (running?.status === 'False' ? running.message : undefined),
  ]
    .filter(Boolean)
    .join(', ');
  return {
    failed: false,
    message: `DataVolume ${name} is ${phase ?? 'not created yet'}${detail ? ` (${detail})` : ''}`,
  };
}

/** The UID of the VM's own KubeVirt VM, when the cache has one. */
function ownerKvUid(context: VmContext, vm: VirtualMachine, namespace: string): string | undefined {
  const kv = context.kvVms.get(vm.metadata.name ?? '', namespace) as KubernetesObject | undefined;
  return kv && isControlledBy(kv, vm.metadata.uid) ? kv.metadata?.uid : undefined;
}

function resolveDisks(
  context: VmContext,
  vm: VirtualMachine,
  namespace: string,
  cdi: boolean,
): {
  referenced: Record<string, VirtualMachineDisk | undefined>;
  disksCheck: Check;
  unclaimed: boolean;
} {
  const { referenced, problems, unclaimed, failed } = referencedDisks(context, vm, namespace);
  const needsCdi = !!vm.spec.image || (vm.spec.disks ?? []).some((disk) => disk.size);
  if (needsCdi && !cdi)
    problems.push(
      'CDI is not installed: disks made from images or created with the VM need CDI (cdi.kubevirt.io DataVolumes); install CDI',
    );
  const dvs = cdi
    ? dataVolumeProblems(context, vm, namespace)
    : { problems: [], lost: false, failed: false };
  problems.push(...dvs.problems);
  const disksCheck = disksCheckOf(problems, {
    lost: dvs.lost,
    failed: failed || dvs.failed,
    cdiMissing: needsCdi && !cdi,
  });
  return { referenced, disksCheck, unclaimed };
}

/**
 * DisksReady from what is wrong with the disks: True when nothing is; else the gravest reason
 * (a claim lost, then a DataVolume that failed, then CDI missing, else not ready yet) and every
 * problem in the message.
 */
export function disksCheckOf(
  problems: string[],
  flags: { lost: boolean; failed: boolean; cdiMissing: boolean },
): Check {
  if (!problems.length) return ok('AllDisksReady', 'every disk is ready');
  const reason = flags.lost
    ? Reasons.ClaimLost
    : flags.failed
      ? Reasons.DataVolumeError
      : flags.cdiMissing
        ? Reasons.CDINotInstalled
        : 'DisksNotReady';
  return fail(reason, problems.join('; '));
}
