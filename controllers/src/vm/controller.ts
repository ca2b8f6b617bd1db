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
import { ApiError, isNotFound } from '../../../kube/src/rest.ts';
import type { AnyImage } from '../../../kube/src/lookups.ts';
import type { ResilientInformer } from '../../../kube/src/informer.ts';
import type { ControllerDefinition, Manager } from '../../../kube/src/manager.ts';
import { objectKey, splitKey } from '../../../kube/src/manager.ts';
import { addFinalizer, isSubset, removeFinalizer, writeStatus } from '../../../kube/src/objects.ts';
import { isRunning, computeVmStatus, type Check } from './status.ts';
import {
  bootDataVolumeName,
  diskDataVolumeName,
  effectiveClassOf,
  translate,
  type EffectiveClass,
  type TranslationOptions,
} from './translate.ts';
import {
  DEFAULT_RESERVATION,
  Finalizers,
  Labels,
  reservationOf,
} from '../../../api/src/wellknown.ts';
import { isEstablished } from '../../../kube/src/conditions.ts';

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
} as const;

export const KUBEVIRT_CRD = 'virtualmachines.kubevirt.io';
export const CDI_CRD = 'datavolumes.cdi.kubevirt.io';

/** What a VM resolves to, before anything is written. */
interface Resolution {
  engine: boolean;
  klass?: VirtualMachineClass;
  image?: AnyImage;
  referenced: Record<string, VirtualMachineDisk | undefined>;
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
    kvVms: m.informer(PATHS.kvVms, { optional: true }),
    kvVmis: m.informer(PATHS.kvVmis, { optional: true }),
    dataVolumes: m.informer(PATHS.dataVolumes, { optional: true }),
  };
}

async function cleanup(c: VmContext, vm: VirtualMachine): Promise<void> {
  const ns = vm.metadata.namespace ?? '';
  const name = vm.metadata.name ?? '';
  const owned = [
    bootDataVolumeName(name),
    ...(vm.spec.disks ?? []).filter((d) => d.size).map((d) => diskDataVolumeName(name, d.name)),
  ];
  const del = async (path: string): Promise<void> => {
    try {
      await c.m.rest.request('DELETE', path);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  };
  if (established(c.crds, KUBEVIRT_CRD))
    await del(`/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/${name}`);
  if (established(c.crds, CDI_CRD))
    for (const dv of owned)
      await del(`/apis/cdi.kubevirt.io/v1beta1/namespaces/${ns}/datavolumes/${dv}`);
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
function resolve(c: VmContext, vm: VirtualMachine, namespace: string, name: string): Resolution {
  const engine = established(c.crds, KUBEVIRT_CRD);
  const cdi = established(c.crds, CDI_CRD);
  const klass = vm.spec.className
    ? (c.classes.get(vm.spec.className) as VirtualMachineClass | undefined)
    : undefined;
  const classCheck = klass
    ? ok(
        'Resolved',
        `class ${klass.metadata.name}: ${klass.spec.hardware.cpus} vCPUs, ${klass.spec.hardware.memory}, ${reservationOf(klass)}`,
      )
    : fail(
        'ClassNotFound',
        `VirtualMachineClass "${vm.spec.className ?? ''}" does not exist: create it or set spec.className to an existing class (kubectl get vmclass)`,
      );
  const { image, imageCheck } = resolveImage(c, vm, namespace);
  const { referenced, disksCheck } = resolveDisks(c, vm, namespace, name, cdi);
  const engineCheck = engine
    ? ok('KubeVirtInstalled', 'KubeVirt serves kubevirt.io/v1 VirtualMachines')
    : fail(
        'KubeVirtNotInstalled',
        'KubeVirt is not installed in this cluster (no kubevirt.io/v1 VirtualMachine API): install KubeVirt; vmplane hands this VM over as soon as it is there',
      );
  return {
    engine,
    ...(klass ? { klass } : {}),
    ...(image ? { image } : {}),
    referenced,
    classCheck,
    imageCheck,
    disksCheck,
    engineCheck,
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
): { referenced: Record<string, VirtualMachineDisk | undefined>; problems: string[] } {
  const referenced: Record<string, VirtualMachineDisk | undefined> = {};
  const problems: string[] = [];
  for (const d of vm.spec.disks ?? []) {
    if (!d.virtualMachineDiskName) continue;
    const disk = c.disks.get(d.virtualMachineDiskName, namespace) as VirtualMachineDisk | undefined;
    referenced[d.virtualMachineDiskName] = disk;
    if (!disk) problems.push(`VirtualMachineDisk ${d.virtualMachineDiskName} does not exist`);
    else if (disk.status?.phase !== 'Ready')
      problems.push(
        `VirtualMachineDisk ${d.virtualMachineDiskName} is ${disk.status?.phase ?? 'Pending'}`,
      );
  }
  return { referenced, problems };
}

/** The DataVolumes made with the VM (boot disk, inline disks) that have not succeeded yet. */
function dataVolumeProblems(
  c: VmContext,
  vm: VirtualMachine,
  namespace: string,
  name: string,
): string[] {
  const names = [
    ...(vm.spec.image ? [bootDataVolumeName(name)] : []),
    ...(vm.spec.disks ?? []).filter((d) => d.size).map((d) => diskDataVolumeName(name, d.name)),
  ];
  const problems: string[] = [];
  for (const dvName of names) {
    const dv = c.dataVolumes.get(dvName, namespace) as V1beta1DataVolume | undefined;
    const phase = dv?.status?.phase;
    if (phase !== 'Succeeded')
      problems.push(
        `DataVolume ${dvName} is ${phase ?? 'not created yet'}${dv?.status?.progress ? ` (${dv.status.progress})` : ''}`,
      );
  }
  return problems;
}

function resolveDisks(
  c: VmContext,
  vm: VirtualMachine,
  namespace: string,
  name: string,
  cdi: boolean,
): { referenced: Record<string, VirtualMachineDisk | undefined>; disksCheck: Check } {
  const { referenced, problems } = referencedDisks(c, vm, namespace);
  const needsCdi = !!vm.spec.image || (vm.spec.disks ?? []).some((d) => d.size);
  if (needsCdi && !cdi)
    problems.push(
      'CDI is not installed: disks made from images or created with the VM need CDI (cdi.kubevirt.io DataVolumes); install CDI',
    );
  if (cdi) problems.push(...dataVolumeProblems(c, vm, namespace, name));
  const disksCheck = problems.length
    ? fail(cdi || !needsCdi ? 'DisksNotReady' : 'CDINotInstalled', problems.join('; '))
    : ok('AllDisksReady', 'every disk is ready');
  return { referenced, disksCheck };
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

/** Hands the translation to KubeVirt when it differs from what runs, and pauses or resumes. */
async function syncEngine(
  c: VmContext,
  vm: VirtualMachine,
  namespace: string,
  name: string,
  r: Resolution,
): Promise<EngineView> {
  let kv = r.engine ? (c.kvVms.get(name, namespace) as V1VirtualMachine | undefined) : undefined;
  const vmi = r.engine
    ? (c.kvVmis.get(name, namespace) as V1VirtualMachineInstance | undefined)
    : undefined;
  const current = r.klass ? effectiveClassOf(r.klass) : undefined;
  const applied = appliedClass(vm, isRunning(kv, vmi), current);
  let powerCheck: Check | undefined;
  if (r.engine && applied && r.imageCheck.ok) {
    const desired = translate({
      vm,
      vmClass: applied,
      ...(r.image ? { image: r.image } : {}),
      disks: r.referenced,
      ...(c.options ? { options: c.options } : {}),
    });
    // The engine may add defaults of its own; only what we set has to match.
    const same =
      kv &&
      isSubset(desired.spec, kv.spec) &&
      isSubset(desired.metadata?.labels ?? {}, kv.metadata?.labels ?? {});
    if (!same)
      kv = await c.m.rest.apply<V1VirtualMachine>(desired as never, {
        fieldManager: 'vmplane-controller',
      });
    powerCheck = await setPause(c, vm, vmi, kv);
  }
  return {
    ...(kv ? { kv } : {}),
    ...(vmi ? { vmi } : {}),
    ...(applied ? { applied } : {}),
    ...(current ? { current } : {}),
    ...(powerCheck ? { powerCheck } : {}),
  };
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
  const r = resolve(c, vm, namespace, name);
  const engine = await syncEngine(c, vm, namespace, name, r);
  const status = computeVmStatus({
    vm,
    now: new Date().toISOString(),
    classCheck: r.classCheck,
    imageCheck: r.imageCheck,
    disksCheck: r.disksCheck,
    engineCheck: r.engineCheck,
    ...engine,
  });
  await writeStatus(c.m.rest, path, vm.status, status);
  // Without KubeVirt, look again now and then (its CRD's arrival also triggers a reconcile).
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
      { path: PATHS.kvVms, keys: byVmLabel },
      { path: PATHS.kvVmis, keys: byVmLabel },
      { path: PATHS.dataVolumes, keys: byVmLabel },
    ],
    allKeys: () => keysWhere(() => true),
    reconcile: (key) => reconcile(c, key),
  };
}
