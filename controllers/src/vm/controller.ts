// VirtualMachine controller: resolves class, image and disks, hands the translation to KubeVirt
// (server-side apply, only when it differs), powers the VM through runStrategy and the pause
// subresource, and mirrors the engine's state into status. Deleting a VM removes what it created
// (finalizer; no reliance on garbage collection) and keeps the VirtualMachineDisks users made.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { V1beta1DataVolume } from '@kubevirt-ui-ext/kubevirt-api/containerized-data-importer';
import type {
  V1VirtualMachine,
  V1VirtualMachineInstance,
} from '@kubevirt-ui-ext/kubevirt-api/kubevirt';
import type {
  ClusterVirtualMachineImage,
  VirtualMachine,
  VirtualMachineClass,
  VirtualMachineDisk,
  VirtualMachineImage,
} from '../../../api/generated/types.ts';
import { ApiError } from '../../../kube/src/rest.ts';
import type { AnyImage } from '../../../kube/src/lookups.ts';
import type { ResilientInformer } from '../../../kube/src/informer.ts';
import type { ControllerDefinition, Manager } from '../../../kube/src/manager.ts';
import { objectKey, splitKey } from '../../../kube/src/manager.ts';
import { addFinalizer, isSubset, removeFinalizer, writeStatus } from '../../../kube/src/objects.ts';
import { isRunning, computeVmStatus } from './status.ts';
import type { Check } from '../../../decisions/src/check.ts';
import {
  effectiveClassOf,
  translate,
  type EffectiveClass,
  type TranslationOptions,
} from './translate.ts';
import { bootDataVolumeName, diskDataVolumeName, isVmDataVolume } from './names.ts';
import {
  createOnly,
  deleteExactly,
  describeForeign,
  findOwn,
  getLive,
  isControlledBy,
  isCurrent,
  StaleCache,
} from '../../../kube/src/ownership.ts';
import {
  API_VERSION,
  DEFAULT_RESERVATION,
  Finalizers,
  Labels,
  Reasons,
  reservationOf,
  Selectors,
  VmConditions,
} from '../../../api/src/wellknown.ts';
import { isEstablished } from '../../../kube/src/conditions.ts';
import {
  activeKubeVirt,
  devicesCheck,
  engineCheck,
  type KubeVirtCr,
} from '../../../decisions/src/kubevirt-install.ts';

const V = '/apis/vmplane.io/v1alpha1';
export const PATHS = {
  vms: `${V}/virtualmachines`,
  classes: `${V}/virtualmachineclasses`,
  images: `${V}/virtualmachineimages`,
  clusterImages: `${V}/clustervirtualmachineimages`,
  disks: `${V}/virtualmachinedisks`,
  crds: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  kvVms: '/apis/kubevirt.io/v1/virtualmachines',
  kvVmis: '/apis/kubevirt.io/v1/virtualmachineinstances',
  dataVolumes: '/apis/cdi.kubevirt.io/v1beta1/datavolumes',
  kubevirts: '/apis/kubevirt.io/v1/kubevirts',
} as const;

export const KUBEVIRT_CRD = 'virtualmachines.kubevirt.io';
export const CDI_CRD = 'datavolumes.cdi.kubevirt.io';

/** What a VM resolves to, before anything is written. */
interface Resolution {
  engine: boolean;
  klass?: VirtualMachineClass;
  image?: AnyImage;
  referenced: Record<string, VirtualMachineDisk | undefined>;
  /** A VirtualMachineDisk the VM uses has no claim of its own yet: the VM is not handed over. */
  unclaimed: boolean;
  classCheck: Check;
  imageCheck: Check;
  disksCheck: Check;
  engineCheck: Check;
}

/** The engine's side after syncing: its objects, the class applied, and a power action that failed. */
interface EngineView {
  kv?: V1VirtualMachine;
  vmi?: V1VirtualMachineInstance;
  applied?: EffectiveClass;
  current?: EffectiveClass;
  powerCheck?: Check;
  /** A foreign KubeVirt VM holds the name: nothing was written, and this says so. */
  foreignCheck?: Check;
  /** Whether the API server took the KubeVirt VM written (absent when nothing was written). */
  acceptedCheck?: Check;
}

const ok = (reason: string, message: string): Check => ({ ok: true, reason, message });
const fail = (reason: string, message: string): Check => ({ ok: false, reason, message });

function established(
  crds: { get(name: string): KubernetesObject | undefined },
  name: string,
): boolean {
  return isEstablished(crds.get(name));
}

/** What every step of the VM reconcile reads: the manager, the informers and the options. */
interface VmContext {
  m: Manager;
  options: TranslationOptions | undefined;
  vms: ResilientInformer<VirtualMachine & KubernetesObject>;
  classes: ResilientInformer<VirtualMachineClass & KubernetesObject>;
  images: ResilientInformer<VirtualMachineImage & KubernetesObject>;
  clusterImages: ResilientInformer<ClusterVirtualMachineImage & KubernetesObject>;
  disks: ResilientInformer<VirtualMachineDisk & KubernetesObject>;
  crds: ResilientInformer<KubernetesObject>;
  kvVms: ResilientInformer<V1VirtualMachine & KubernetesObject>;
  kvVmis: ResilientInformer<V1VirtualMachineInstance & KubernetesObject>;
  dataVolumes: ResilientInformer<V1beta1DataVolume & KubernetesObject>;
  kubevirts: ResilientInformer<KubeVirtCr & KubernetesObject>;
}

function contextOf(m: Manager, options: TranslationOptions | undefined): VmContext {
  return {
    m,
    options,
    vms: m.informer(PATHS.vms),
    classes: m.informer(PATHS.classes),
    images: m.informer(PATHS.images),
    clusterImages: m.informer(PATHS.clusterImages),
    disks: m.informer(PATHS.disks),
    crds: m.informer(PATHS.crds),
    kvVms: m.informer(PATHS.kvVms, { optional: true, labelSelector: Selectors.vm }),
    kvVmis: m.informer(PATHS.kvVmis, { optional: true, labelSelector: Selectors.vm }),
    dataVolumes: m.informer(PATHS.dataVolumes, {
      optional: true,
      labelSelector: Selectors.managed,
    }),
    kubevirts: m.informer(PATHS.kubevirts, { optional: true }),
  };
}

const kvCollection = (ns: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`;
const dvCollection = (ns: string): string =>
  `/apis/cdi.kubevirt.io/v1beta1/namespaces/${ns}/datavolumes`;

/** The DataVolumes a VM makes: its boot disk and its inline disks. */
function dataVolumeNames(vm: VirtualMachine): string[] {
  const name = vm.metadata.name ?? '';
  return [
    ...(vm.spec.image ? [bootDataVolumeName(name)] : []),
    ...(vm.spec.disks ?? []).filter((d) => d.size).map((d) => diskDataVolumeName(name, d.name)),
  ];
}

/**
 * Deleting a VM: its KubeVirt VM and DataVolumes go, but only those that are its own (owner
 * reference or label and UID annotation), each deleted with its UID as a precondition. A namesake
 * that belongs to someone else stays, whatever its name.
 */
async function cleanup(c: VmContext, vm: VirtualMachine): Promise<void> {
  const ns = vm.metadata.namespace ?? '';
  const name = vm.metadata.name ?? '';
  const uid = vm.metadata.uid;
  const ownKv = established(c.crds, KUBEVIRT_CRD)
    ? await findOwn(c.kvVms, c.m.rest, kvCollection(ns), name, ns, (kv) => isControlledBy(kv, uid))
    : undefined;
  if (established(c.crds, CDI_CRD)) {
    const labelled = (c.dataVolumes.list() as readonly KubernetesObject[])
      .filter((d) => d.metadata?.namespace === ns && d.metadata?.labels?.[Labels.vm] === name)
      .map((d) => d.metadata?.name ?? '');
    for (const dvName of new Set([...dataVolumeNames(vm), ...labelled])) {
      const dv = await findOwn(c.dataVolumes, c.m.rest, dvCollection(ns), dvName, ns, (d) =>
        isVmDataVolume(d, { name, uid }, ownKv?.metadata?.uid),
      );
      if (dv) await deleteExactly(c.m.rest, `${dvCollection(ns)}/${dvName}`, dv.metadata?.uid);
    }
  }
  if (ownKv) await deleteExactly(c.m.rest, `${kvCollection(ns)}/${name}`, ownKv.metadata?.uid);
  await removeFinalizer(
    c.m.rest,
    `${V}/namespaces/${ns}/virtualmachines/${name}`,
    vm as KubernetesObject,
    Finalizers.vmCleanup,
  );
}

async function setPause(
  c: VmContext,
  vm: VirtualMachine,
  vmi: V1VirtualMachineInstance | undefined,
  kv: V1VirtualMachine | undefined,
): Promise<Check | undefined> {
  if (!vmi) return undefined;
  const paused =
    kv?.status?.printableStatus === 'Paused' ||
    vmi.status?.conditions?.some((c) => c.type === 'Paused' && c.status === 'True');
  const want = vm.spec.powerState === 'Suspended';
  if (want === !!paused) return undefined;
  const verb = want ? 'pause' : 'unpause';
  try {
    await c.m.rest.request(
      'PUT',
      `/apis/subresources.kubevirt.io/v1/namespaces/${vm.metadata.namespace}/virtualmachineinstances/${vm.metadata.name}/${verb}`,
      { body: {} },
    );
    return undefined;
  } catch (e) {
    const code = e instanceof ApiError ? e.code : 0;
    return fail(
      'PowerActionFailed',
      `could not ${verb} the VM through KubeVirt's subresource API (HTTP ${code}): ${(e as Error).message}`,
    );
  }
}

/** The VM's class, image and disks as they stand, and whether KubeVirt and CDI are there. */
function resolve(c: VmContext, vm: VirtualMachine, namespace: string): Resolution {
  const kubevirts = c.kubevirts.list() as KubeVirtCr[];
  const engineChecked = engineCheck(established(c.crds, KUBEVIRT_CRD), kubevirts);
  const engine = engineChecked.ok;
  const cdi = established(c.crds, CDI_CRD);
  const klass = vm.spec.className
    ? (c.classes.get(vm.spec.className) as VirtualMachineClass | undefined)
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
  const { image, imageCheck } = resolveImage(c, vm, namespace);
  const { referenced, disksCheck, unclaimed } = resolveDisks(c, vm, namespace, cdi);
  return {
    engine,
    ...(klass ? { klass } : {}),
    ...(image ? { image } : {}),
    referenced,
    unclaimed,
    classCheck,
    imageCheck,
    disksCheck,
    engineCheck: engineChecked,
  };
}

function resolveImage(
  c: VmContext,
  vm: VirtualMachine,
  namespace: string,
): { image?: AnyImage; imageCheck: Check } {
  if (!vm.spec.image) return { imageCheck: ok('NoImage', 'the VM boots from a disk') };
  const kind = vm.spec.image.kind ?? 'VirtualMachineImage';
  const image = (
    kind === 'VirtualMachineImage'
      ? c.images.get(vm.spec.image.name, namespace)
      : c.clusterImages.get(vm.spec.image.name)
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
  c: VmContext,
  vm: VirtualMachine,
  namespace: string,
): {
  referenced: Record<string, VirtualMachineDisk | undefined>;
  problems: string[];
  unclaimed: boolean;
} {
  const referenced: Record<string, VirtualMachineDisk | undefined> = {};
  const problems: string[] = [];
  let unclaimed = false;
  for (const d of vm.spec.disks ?? []) {
    if (!d.virtualMachineDiskName) continue;
    const disk = c.disks.get(d.virtualMachineDiskName, namespace) as VirtualMachineDisk | undefined;
    referenced[d.virtualMachineDiskName] = disk;
    // Without the disk's own claim there is nothing the VM may mount (a namesake is not it).
    if (!disk?.status?.claimName) unclaimed = true;
    if (!disk) problems.push(`VirtualMachineDisk ${d.virtualMachineDiskName} does not exist`);
    else if (disk.status?.phase !== 'Ready')
      problems.push(
        `VirtualMachineDisk ${d.virtualMachineDiskName} is ${disk.status?.phase ?? 'Pending'}`,
      );
  }
  return { referenced, problems, unclaimed };
}

/**
 * Whether every disk of the VM was ready at its current generation (so a DataVolume gone now was
 * lost, not new). Once a loss is reported it stays reported until the spec changes.
 */
function disksWereReady(vm: VirtualMachine): boolean {
  return !!vm.status?.conditions?.some(
    (c) =>
      c.type === VmConditions.DisksReady &&
      (c.status === 'True' || c.reason === Reasons.ClaimLost) &&
      c.observedGeneration === vm.metadata.generation,
  );
}

/**
 * The DataVolumes made with the VM (boot disk, inline disks) that are not its own, have not
 * succeeded yet, or were deleted outside vmplane after they were ready (`lost`: KubeVirt makes
 * them again from the template, empty, so the VM says so).
 */
function dataVolumeProblems(
  c: VmContext,
  vm: VirtualMachine,
  namespace: string,
): { problems: string[]; lost: boolean } {
  const problems: string[] = [];
  let lost = false;
  const vmRef = { name: vm.metadata.name ?? '', uid: vm.metadata.uid };
  const wereReady = disksWereReady(vm);
  for (const dvName of dataVolumeNames(vm)) {
    const dv = c.dataVolumes.get(dvName, namespace) as V1beta1DataVolume | undefined;
    if (dv && !isVmDataVolume(dv as KubernetesObject, vmRef, ownerKvUid(c, vm, namespace))) {
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
    const phase = dv?.status?.phase;
    if (phase !== 'Succeeded')
      problems.push(
        `DataVolume ${dvName} is ${phase ?? 'not created yet'}${dv?.status?.progress ? ` (${dv.status.progress})` : ''}`,
      );
  }
  return { problems, lost };
}

/** The UID of the VM's own KubeVirt VM, when the cache has one. */
function ownerKvUid(c: VmContext, vm: VirtualMachine, namespace: string): string | undefined {
  const kv = c.kvVms.get(vm.metadata.name ?? '', namespace) as KubernetesObject | undefined;
  return kv && isControlledBy(kv, vm.metadata.uid) ? kv.metadata?.uid : undefined;
}

function resolveDisks(
  c: VmContext,
  vm: VirtualMachine,
  namespace: string,
  cdi: boolean,
): {
  referenced: Record<string, VirtualMachineDisk | undefined>;
  disksCheck: Check;
  unclaimed: boolean;
} {
  const { referenced, problems, unclaimed } = referencedDisks(c, vm, namespace);
  const needsCdi = !!vm.spec.image || (vm.spec.disks ?? []).some((d) => d.size);
  if (needsCdi && !cdi)
    problems.push(
      'CDI is not installed: disks made from images or created with the VM need CDI (cdi.kubevirt.io DataVolumes); install CDI',
    );
  const dvs = cdi ? dataVolumeProblems(c, vm, namespace) : { problems: [], lost: false };
  problems.push(...dvs.problems);
  const reason = dvs.lost
    ? Reasons.ClaimLost
    : cdi || !needsCdi
      ? 'DisksNotReady'
      : 'CDINotInstalled';
  const disksCheck = problems.length
    ? fail(reason, problems.join('; '))
    : ok('AllDisksReady', 'every disk is ready');
  return { referenced, disksCheck, unclaimed };
}

/** The class the engine runs: a running VM keeps the hardware it started with until its next power cycle. */
function appliedClass(
  vm: VirtualMachine,
  running: boolean,
  current: EffectiveClass | undefined,
): EffectiveClass | undefined {
  const recorded = vm.status?.class;
  if (!running || !recorded?.name || recorded.cpus === undefined || !recorded.memory)
    return current;
  return {
    name: recorded.name,
    cpus: recorded.cpus,
    memory: recorded.memory,
    reservation: recorded.reservation ?? DEFAULT_RESERVATION,
    generation: recorded.generation ?? 0,
    ...(current?.devices ? { devices: current.devices } : {}),
  };
}

/**
 * Writes the KubeVirt VM: created when there is none (never over an existing one), updated only
 * when it is this VM's (controlling owner reference with its UID), with the resourceVersion read
 * as a precondition. Returns the KubeVirt VM, or the foreign one that holds the name.
 */
async function writeEngineVm(
  c: VmContext,
  desired: V1VirtualMachine,
  kv: V1VirtualMachine | undefined,
  uid: string | undefined,
): Promise<{ kv?: V1VirtualMachine; foreign?: V1VirtualMachine }> {
  const ns = desired.metadata?.namespace ?? '';
  if (!kv) {
    const vmPath = `${V}/namespaces/${ns}/virtualmachines/${desired.metadata?.name}`;
    if (!(await isCurrent(c.m.rest, vmPath, uid)))
      throw new StaleCache(`VirtualMachine ${ns}/${desired.metadata?.name}`);
    const r = await createOnly(
      c.m.rest,
      kvCollection(ns),
      desired as KubernetesObject,
      'vmplane-controller',
    );
    if ('created' in r) return { kv: r.created as V1VirtualMachine };
    kv = r.exists as V1VirtualMachine | undefined;
    // Created and deleted again in between: the next reconcile starts over.
    if (!kv)
      throw new Error(`KubeVirt VirtualMachine ${ns}/${desired.metadata?.name} changed under us`);
  }
  if (!isControlledBy(kv as KubernetesObject, uid)) return { foreign: kv };
  // The engine may add defaults of its own; only what we set has to match.
  const same =
    isSubset(desired.spec, kv.spec) &&
    isSubset(desired.metadata?.labels ?? {}, kv.metadata?.labels ?? {});
  if (same) return { kv };
  const withPrecondition = {
    ...desired,
    metadata: { ...desired.metadata, resourceVersion: kv.metadata?.resourceVersion },
  };
  return {
    kv: await c.m.rest.apply<V1VirtualMachine>(withPrecondition as never, {
      fieldManager: 'vmplane-controller',
    }),
  };
}

/** A failed check the user must see: a Warning Event on the VM, and the check that says the same. */
async function warning(
  c: VmContext,
  vm: VirtualMachine,
  reason: string,
  message: string,
): Promise<Check> {
  await c.m.event(
    { apiVersion: API_VERSION, kind: 'VirtualMachine', metadata: vm.metadata } as KubernetesObject,
    'Warning',
    reason,
    message,
  );
  return fail(reason, message);
}

/** A KubeVirt VM of this name that is not this VM's: said in EngineAvailable and in an Event. */
async function nameInUse(
  c: VmContext,
  vm: VirtualMachine,
  foreign: V1VirtualMachine,
): Promise<Check> {
  const message = `${describeForeign('KubeVirt VirtualMachine', foreign as KubernetesObject)} already has this name; vmplane leaves it alone: rename this VM or remove that one`;
  return warning(c, vm, Reasons.NameInUse, message);
}

/** Hands the translation to KubeVirt when it differs from what runs, and pauses or resumes. */
async function syncEngine(
  c: VmContext,
  vm: VirtualMachine,
  namespace: string,
  name: string,
  r: Resolution,
): Promise<EngineView> {
  let kv = r.engine ? (c.kvVms.get(name, namespace) as V1VirtualMachine | undefined) : undefined;
  if (kv && !isControlledBy(kv as KubernetesObject, vm.metadata.uid)) {
    // The cache may hold a namesake deleted a moment ago: ask the API server before saying so.
    kv = await getLive<V1VirtualMachine & KubernetesObject>(
      c.m.rest,
      `${kvCollection(namespace)}/${name}`,
    );
    if (kv && !isControlledBy(kv as KubernetesObject, vm.metadata.uid))
      return { foreignCheck: await nameInUse(c, vm, kv) };
  }
  const vmi = r.engine
    ? (c.kvVmis.get(name, namespace) as V1VirtualMachineInstance | undefined)
    : undefined;
  const current = r.klass ? effectiveClassOf(r.klass) : undefined;
  const applied = appliedClass(vm, isRunning(kv, vmi), current);
  const view: EngineView = {
    ...(kv ? { kv } : {}),
    ...(vmi ? { vmi } : {}),
    ...(applied ? { applied } : {}),
    ...(current ? { current } : {}),
  };
  // A class whose devices KubeVirt does not permit is not handed over: KubeVirt would refuse it,
  // or the VM would never schedule.
  const devicesRefused = r.classCheck.reason === Reasons.DevicesNotPermitted;
  if (!r.engine || !applied || !r.imageCheck.ok || r.unclaimed || devicesRefused) return view;
  return handOver(c, vm, r, view, applied);
}

/** Writes the translation (when it differs) and pauses or resumes; a refusal is said, not retried at once. */
async function handOver(
  c: VmContext,
  vm: VirtualMachine,
  r: Resolution,
  view: EngineView,
  applied: EffectiveClass,
): Promise<EngineView> {
  const desired = translate({
    vm,
    vmClass: applied,
    ...(r.image ? { image: r.image } : {}),
    disks: r.referenced,
    ...(c.options ? { options: c.options } : {}),
  });
  let written: Awaited<ReturnType<typeof writeEngineVm>>;
  try {
    written = await writeEngineVm(c, desired, view.kv, vm.metadata.uid);
  } catch (e) {
    if (!isRefusal(e)) throw e;
    return { ...view, acceptedCheck: await engineRefused(c, vm, e as ApiError) };
  }
  if (written.foreign) return { foreignCheck: await nameInUse(c, vm, written.foreign) };
  const kv = written.kv;
  const powerCheck = await setPause(c, vm, view.vmi, kv);
  return {
    ...view,
    ...(kv ? { kv } : {}),
    ...(powerCheck ? { powerCheck } : {}),
    acceptedCheck: ok(
      Reasons.Accepted,
      'the API server took the KubeVirt VirtualMachine vmplane wrote',
    ),
  };
}

/** The API server refused the object outright (its schema, a webhook such as KubeVirt's): not worth a quick retry. */
function isRefusal(e: unknown): boolean {
  return e instanceof ApiError && [400, 403, 422].includes(e.code);
}

/** A refusal of the KubeVirt VM: said in EngineAccepted and in a Warning Event, with the API server's words. */
async function engineRefused(c: VmContext, vm: VirtualMachine, e: ApiError): Promise<Check> {
  const said = e.message.replace(/^HTTP \d+: /, '');
  const message = `the API server refused the KubeVirt VirtualMachine vmplane made for this VM (HTTP ${e.code}): ${said}`;
  return warning(c, vm, Reasons.EngineRefused, message);
}

/**
 * When a DataVolume of the VM is missing, whether it was lost (ready before) is read from the VM
 * as stored: the cache may not have the status the previous reconcile wrote yet.
 */
async function freshWhenDisksMissing(
  c: VmContext,
  vm: VirtualMachine,
  path: string,
): Promise<VirtualMachine> {
  const ns = vm.metadata.namespace ?? '';
  if (!established(c.crds, CDI_CRD) || disksWereReady(vm)) return vm;
  if (dataVolumeNames(vm).every((n) => c.dataVolumes.get(n, ns))) return vm;
  const live = await getLive<VirtualMachine & KubernetesObject>(c.m.rest, path);
  return live && live.metadata.uid === vm.metadata.uid ? live : vm;
}

async function reconcile(
  c: VmContext,
  key: string,
): Promise<{ requeueAfterMs: number } | undefined> {
  const { namespace = '', name } = splitKey(key);
  let vm = c.vms.get(name, namespace) as VirtualMachine | undefined;
  if (!vm) return undefined;
  const path = `${V}/namespaces/${namespace}/virtualmachines/${name}`;
  if ((vm.metadata as { deletionTimestamp?: unknown }).deletionTimestamp) {
    if (vm.metadata.finalizers?.includes(Finalizers.vmCleanup)) await cleanup(c, vm);
    return undefined;
  }
  if (!vm.metadata.finalizers?.includes(Finalizers.vmCleanup)) {
    // Go on with the object the API server answered: no wait for the watch to bring it back.
    const updated = await addFinalizer(
      c.m.rest,
      path,
      vm as KubernetesObject,
      Finalizers.vmCleanup,
    );
    if (!updated) return undefined;
    vm = updated as VirtualMachine;
  }
  vm = await freshWhenDisksMissing(c, vm, path);
  const r = resolve(c, vm, namespace);
  const { foreignCheck, acceptedCheck, ...engine } = await syncEngine(c, vm, namespace, name, r);
  const status = computeVmStatus({
    vm,
    now: new Date().toISOString(),
    classCheck: r.classCheck,
    imageCheck: r.imageCheck,
    disksCheck: r.disksCheck,
    engineCheck: foreignCheck ?? r.engineCheck,
    ...(acceptedCheck ? { acceptedCheck } : {}),
    ...engine,
  });
  await writeStatus(c.m.rest, path, vm.status, status);
  // Without KubeVirt, look again now and then (its CRD's and CR's arrival also trigger a
  // reconcile); after a refusal, try again in a while (a change to the VM retries at once).
  if (acceptedCheck && !acceptedCheck.ok) return { requeueAfterMs: 300_000 };
  return r.engine ? undefined : { requeueAfterMs: 60_000 };
}

export function vmController(m: Manager, options?: TranslationOptions): ControllerDefinition {
  const c = contextOf(m, options);
  const inScope = (): VirtualMachine[] =>
    (c.vms.list() as VirtualMachine[]).filter((v) => m.inScope(v as KubernetesObject));
  const keysWhere = (pred: (v: VirtualMachine) => boolean): string[] =>
    inScope()
      .filter(pred)
      .map((v) => objectKey(v as KubernetesObject));
  const byVmLabel = (o: KubernetesObject): string[] => {
    const name = o.metadata?.labels?.[Labels.vm] ?? o.metadata?.name;
    const vm = c.vms.get(name ?? '', o.metadata?.namespace);
    return vm && m.inScope(vm) ? [`${o.metadata?.namespace}/${name}`] : [];
  };

  return {
    name: 'virtualmachine',
    concurrency: 8,
    watches: [
      { path: PATHS.vms, keys: (o) => (m.inScope(o) ? [objectKey(o)] : []) },
      { path: PATHS.classes, keys: (o) => keysWhere((v) => v.spec.className === o.metadata?.name) },
      {
        path: PATHS.images,
        keys: (o) =>
          keysWhere(
            (v) =>
              v.spec.image?.name === o.metadata?.name &&
              v.metadata.namespace === o.metadata?.namespace,
          ),
      },
      {
        path: PATHS.clusterImages,
        keys: (o) => keysWhere((v) => v.spec.image?.name === o.metadata?.name),
      },
      {
        path: PATHS.disks,
        keys: (o) =>
          keysWhere(
            (v) =>
              v.metadata.namespace === o.metadata?.namespace &&
              !!v.spec.disks?.some((d) => d.virtualMachineDiskName === o.metadata?.name),
          ),
      },
      {
        path: PATHS.crds,
        keys: (o) =>
          [KUBEVIRT_CRD, CDI_CRD].includes(o.metadata?.name ?? '') ? keysWhere(() => true) : [],
      },
      { path: PATHS.kubevirts, keys: () => keysWhere(() => true) },
      { path: PATHS.kvVms, labelSelector: Selectors.vm, keys: byVmLabel },
      { path: PATHS.kvVmis, labelSelector: Selectors.vm, keys: byVmLabel },
      { path: PATHS.dataVolumes, labelSelector: Selectors.managed, keys: byVmLabel },
    ],
    allKeys: () => keysWhere(() => true),
    reconcile: (key) => reconcile(c, key),
  };
}
