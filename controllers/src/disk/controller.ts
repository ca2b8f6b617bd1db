// VirtualMachineDisk controller. With CDI: a DataVolume (blank, http, registry, or a clone of a
// claim) using the storage settled at admission. Without CDI: a plain PVC for a blank disk, and a
// clear condition (not a crash) for imports that need CDI. Status follows the claim. Growing
// spec.size grows the claim. A disk attached to a VM cannot be deleted from under it.
import type { KubernetesObject, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { V1beta1DataVolume } from '@kubevirt-ui-ext/kubevirt-api/containerized-data-importer';
import type {
  ClusterVirtualMachineImage,
  VirtualMachine,
  VirtualMachineDisk,
  VirtualMachineImage,
} from '../../../api/generated/types.ts';
import { parseQuantity } from '../../../api/src/quantity.ts';
import {
  createOnly,
  deleteExactly,
  describeForeign,
  findOwn,
  getLive,
  isControlledBy,
  isCurrent,
  isOwnedBy,
  StaleCache,
} from '../../../kube/src/ownership.ts';
import type { ResilientInformer } from '../../../kube/src/informer.ts';
import type { ControllerDefinition, Manager } from '../../../kube/src/manager.ts';
import { objectKey, splitKey } from '../../../kube/src/manager.ts';
import { addFinalizer, removeFinalizer, writeStatus } from '../../../kube/src/objects.ts';
import { CDI_CRD, PATHS } from '../vm/context.ts';
import {
  Annotations,
  API_VERSION,
  Finalizers,
  Labels,
  MANAGER,
  Reasons,
  Selectors,
} from '../../../api/src/wellknown.ts';
import { claimUpkeep, formatClaim, parseClaim } from '../../../api/src/attach-claim.ts';
import { isEstablished } from '../../../kube/src/conditions.ts';

import {
  dataVolumeSource,
  diskPhase,
  diskStatus,
  inUseStatus,
  lost,
  nameInUse,
  needsCdi,
  wasProvisioned,
  type Readiness,
  type ResizeOutcome,
} from './status.ts';

const PVCS = '/api/v1/persistentvolumeclaims';

type Disk = VirtualMachineDisk & KubernetesObject;

/** What the engine side of a disk looks like after syncing it. */
interface EngineState {
  readiness: Readiness;
  progress?: string;
  /** The claim behind the disk, when it is the disk's own. */
  pvc?: V1PersistentVolumeClaim;
}

function isDeleting(o: { metadata: object }): boolean {
  return !!(o.metadata as { deletionTimestamp?: string }).deletionTimestamp;
}

function diskPath(namespace: string, name: string): string {
  return `/apis/vmplane.io/v1alpha1/namespaces/${namespace}/virtualmachinedisks/${name}`;
}

/** The claim settings a disk asks for (settled at admission). */
function claimSpec(disk: VirtualMachineDisk): Record<string, unknown> {
  return {
    ...(disk.spec.storageClassName ? { storageClassName: disk.spec.storageClassName } : {}),
    ...(disk.spec.accessModes ? { accessModes: disk.spec.accessModes } : {}),
    ...(disk.spec.volumeMode ? { volumeMode: disk.spec.volumeMode } : {}),
    resources: { requests: { storage: disk.spec.size } },
  };
}

/** Labels and owner of what a disk makes (its DataVolume or claim). */
function ownedMetadata(disk: VirtualMachineDisk): Record<string, unknown> {
  const { name, namespace, uid } = disk.metadata;
  return {
    name,
    namespace,
    labels: { [Labels.disk]: name, [Labels.managedBy]: MANAGER },
    ownerReferences: uid
      ? [{ apiVersion: API_VERSION, kind: 'VirtualMachineDisk', name, uid, controller: true }]
      : [],
  };
}

/** What every step of the disk reconcile reads: the manager and the informers. */
interface DiskContext {
  m: Manager;
  disks: ResilientInformer<Disk>;
  vms: ResilientInformer<VirtualMachine & KubernetesObject>;
  images: ResilientInformer<VirtualMachineImage & KubernetesObject>;
  clusterImages: ResilientInformer<ClusterVirtualMachineImage & KubernetesObject>;
  crds: ResilientInformer<KubernetesObject>;
  pvcs: ResilientInformer<V1PersistentVolumeClaim & KubernetesObject>;
  dataVolumes: ResilientInformer<V1beta1DataVolume & KubernetesObject>;
}

function contextOf(m: Manager): DiskContext {
  return {
    m,
    disks: m.informer(PATHS.disks),
    vms: m.informer(PATHS.vms),
    images: m.informer(PATHS.images),
    clusterImages: m.informer(PATHS.clusterImages),
    crds: m.informer(PATHS.crds),
    pvcs: m.informer(PVCS, { labelSelector: Selectors.managed }),
    dataVolumes: m.informer(PATHS.dataVolumes, {
      optional: true,
      labelSelector: Selectors.managed,
    }),
  };
}

function cdiInstalled(c: DiskContext): boolean {
  return isEstablished(c.crds.get(CDI_CRD));
}

/** The VM (not being deleted) that uses a disk. */
function attachedTo(c: DiskContext, d: VirtualMachineDisk): VirtualMachine | undefined {
  const uses = (v: VirtualMachine): boolean =>
    v.metadata.namespace === d.metadata.namespace &&
    !isDeleting(v) &&
    !!v.spec.disks?.some((x) => x.virtualMachineDiskName === d.metadata.name);
  return (c.vms.list() as VirtualMachine[]).find(uses);
}

const dvCollection = (ns: string): string =>
  `/apis/cdi.kubevirt.io/v1beta1/namespaces/${ns}/datavolumes`;
const pvcCollection = (ns: string): string => `/api/v1/namespaces/${ns}/persistentvolumeclaims`;

/** The disk's DataVolume, if there is one and it is the disk's own. */
async function ownDataVolume(
  c: DiskContext,
  disk: VirtualMachineDisk,
  namespace: string,
  name: string,
): Promise<KubernetesObject | undefined> {
  return findOwn(c.dataVolumes, c.m.rest, dvCollection(namespace), name, namespace, (dv) =>
    isControlledBy(dv, disk.metadata.uid),
  );
}

/** Deleting: wait while a VM uses the disk, else remove its DataVolume and claim, then the finalizer. */
async function finalize(
  c: DiskContext,
  disk: VirtualMachineDisk,
  namespace: string,
  name: string,
): Promise<void> {
  if (!disk.metadata.finalizers?.includes(Finalizers.diskProtection)) return;
  const path = diskPath(namespace, name);
  const user = attachedTo(c, disk);
  if (user) {
    await writeStatus(
      c.m.rest,
      path,
      disk.status,
      inUseStatus(disk, user.metadata.name ?? '', new Date().toISOString()),
    );
    await c.m.event(
      { apiVersion: API_VERSION, kind: 'VirtualMachineDisk', metadata: disk.metadata },
      'Warning',
      'InUse',
      `cannot delete: attached to VM ${user.metadata.name}`,
    );
    return;
  }
  // Only what is the disk's own goes: its DataVolume, and the claim it (or its DataVolume) owns.
  const dv = cdiInstalled(c) ? await ownDataVolume(c, disk, namespace, name) : undefined;
  if (dv) await deleteExactly(c.m.rest, `${dvCollection(namespace)}/${name}`, dv.metadata?.uid);
  const pvc = await findOwn(c.pvcs, c.m.rest, pvcCollection(namespace), name, namespace, (p) =>
    isOwnedBy(p, [disk.metadata.uid, dv?.metadata?.uid]),
  );
  if (pvc) await deleteExactly(c.m.rest, `${pvcCollection(namespace)}/${name}`, pvc.metadata?.uid);
  await removeFinalizer(c.m.rest, path, disk as KubernetesObject, Finalizers.diskProtection);
}

/** The image a disk is filled from, when it names one. */
function resolveImage(
  c: DiskContext,
  disk: VirtualMachineDisk,
  namespace: string,
): VirtualMachineImage | ClusterVirtualMachineImage | undefined {
  const src = disk.spec.source?.image;
  if (!src) return undefined;
  return (
    src.kind === 'ClusterVirtualMachineImage'
      ? c.clusterImages.get(src.name)
      : c.images.get(src.name, namespace)
  ) as VirtualMachineImage | undefined;
}

/**
 * The disk's own object (DataVolume or claim) of this name: from the cache, else created (never
 * over an existing object). A namesake that is not the disk's, or storage that vanished after
 * the disk was ready, is reported instead.
 */
async function ensureOwn<T extends KubernetesObject>(
  c: DiskContext,
  disk: VirtualMachineDisk,
  kind: 'DataVolume' | 'PersistentVolumeClaim',
  cached: T | undefined,
  make: () => T,
): Promise<{ obj: T } | { readiness: Readiness }> {
  const ns = disk.metadata.namespace ?? '';
  const collection = kind === 'DataVolume' ? dvCollection(ns) : pvcCollection(ns);
  let obj = cached;
  if (!obj) {
    if (wasProvisioned(disk)) {
      const live = await getLive<T>(c.m.rest, `${collection}/${disk.metadata.name}`);
      if (!live) return { readiness: lost(`${kind} ${ns}/${disk.metadata.name}`) };
      obj = live;
    } else {
      if (!(await isCurrent(c.m.rest, diskPath(ns, disk.metadata.name ?? ''), disk.metadata.uid)))
        throw new StaleCache(`VirtualMachineDisk ${ns}/${disk.metadata.name}`);
      const r = await createOnly(c.m.rest, collection, make(), 'vmplane-controller');
      if ('created' in r) return { obj: r.created };
      if (!r.exists) throw new Error(`${kind} ${ns}/${disk.metadata.name} changed under us`);
      obj = r.exists;
    }
  }
  if (isControlledBy(obj, disk.metadata.uid)) return { obj };
  // The cache may hold a namesake deleted a moment ago: ask the API server before saying so.
  const live = await getLive<T>(c.m.rest, `${collection}/${disk.metadata.name}`);
  if (!live) throw new StaleCache(`${kind} ${ns}/${disk.metadata.name}`);
  if (isControlledBy(live, disk.metadata.uid)) return { obj: live };
  const foreign = describeForeign(kind, live);
  await c.m.event(
    {
      apiVersion: API_VERSION,
      kind: 'VirtualMachineDisk',
      metadata: disk.metadata,
    } as KubernetesObject,
    'Warning',
    Reasons.NameInUse,
    `${foreign} already has this disk's name; vmplane leaves it alone`,
  );
  return { readiness: nameInUse(foreign) };
}

/** The disk's claim, when it is its own (made by vmplane, or by CDI for the disk's DataVolume). */
function ownClaim(
  c: DiskContext,
  disk: VirtualMachineDisk,
  dv: KubernetesObject | undefined,
): V1PersistentVolumeClaim | undefined {
  const pvc = c.pvcs.get(disk.metadata.name ?? '', disk.metadata.namespace) as
    (V1PersistentVolumeClaim & KubernetesObject) | undefined;
  return pvc && isOwnedBy(pvc, [disk.metadata.uid, dv?.metadata?.uid]) ? pvc : undefined;
}

/** Makes the disk's DataVolume (with CDI) or claim (blank, without CDI), and reads how it is doing. */
async function syncEngine(
  c: DiskContext,
  disk: VirtualMachineDisk,
  namespace: string,
  name: string,
): Promise<EngineState> {
  const src = disk.spec.source;
  if (cdiInstalled(c)) {
    const source = dataVolumeSource(disk, resolveImage(c, disk, namespace));
    if ('error' in source)
      return { readiness: { phase: 'Pending', reason: 'SourceNotFound', message: source.error } };
    const own = await ensureOwn(
      c,
      disk,
      'DataVolume',
      c.dataVolumes.get(name, namespace) as (V1beta1DataVolume & KubernetesObject) | undefined,
      () =>
        ({
          apiVersion: 'cdi.kubevirt.io/v1beta1',
          kind: 'DataVolume',
          metadata: ownedMetadata(disk),
          spec: { source, storage: claimSpec(disk) },
        }) as V1beta1DataVolume & KubernetesObject,
    );
    if ('readiness' in own) return own;
    const dv = own.obj;
    const pvc = ownClaim(c, disk, dv);
    return {
      readiness: diskPhase(dv, undefined),
      ...(dv.status?.progress ? { progress: dv.status.progress } : {}),
      ...(pvc ? { pvc } : {}),
    };
  }
  if (src && !src.blank) return { readiness: needsCdi(disk) };
  const own = await ensureOwn(
    c,
    disk,
    'PersistentVolumeClaim',
    c.pvcs.get(name, namespace) as (V1PersistentVolumeClaim & KubernetesObject) | undefined,
    () =>
      ({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: ownedMetadata(disk),
        spec: claimSpec(disk),
      }) as V1PersistentVolumeClaim & KubernetesObject,
  );
  if ('readiness' in own) return own;
  return { readiness: diskPhase(undefined, own.obj), pvc: own.obj };
}

/**
 * Growing: the claim follows spec.size upwards (shrinking is refused at admission). Kubernetes
 * resizes only bound claims; until then the disk says it is waiting.
 */
async function grow(
  c: DiskContext,
  disk: VirtualMachineDisk,
  pvc: V1PersistentVolumeClaim | undefined,
): Promise<ResizeOutcome | undefined> {
  const requested = pvc?.spec?.resources?.requests?.storage;
  if (
    !pvc ||
    !requested ||
    parseQuantity(disk.spec.size).compareTo(parseQuantity(String(requested))) <= 0
  )
    return undefined;
  if (pvc.status?.phase !== 'Bound') return { outcome: 'waiting' };
  try {
    await c.m.rest.request(
      'PATCH',
      `/api/v1/namespaces/${pvc.metadata?.namespace}/persistentvolumeclaims/${pvc.metadata?.name}`,
      {
        body: { spec: { resources: { requests: { storage: disk.spec.size } } } },
        contentType: 'application/merge-patch+json',
      },
    );
    return undefined;
  } catch (e) {
    return { outcome: 'refused', message: (e as Error).message.split('\n')[0] ?? '' };
  }
}

/**
 * Keeps the disk's claim (vmplane.io/attached-to) true to the VMs using it: claims a disk attached
 * before claims existed, and clears a claim whose VM is gone (claimUpkeep decides). Written with
 * the disk's resourceVersion as a precondition, like the webhook's claims.
 */
async function upkeepClaim(c: DiskContext, disk: VirtualMachineDisk): Promise<void> {
  const users = (c.vms.list() as VirtualMachine[])
    .filter(
      (v) =>
        v.metadata.namespace === disk.metadata.namespace &&
        !!v.metadata.uid &&
        !!v.spec.disks?.some((x) => x.virtualMachineDiskName === disk.metadata.name),
    )
    .map((v) => ({ name: v.metadata.name ?? '', uid: v.metadata.uid ?? '' }));
  const current = parseClaim(disk.metadata.annotations?.[Annotations.attachedTo]);
  const action = claimUpkeep(current, users, new Date());
  if (!action) return;
  await c.m.rest.request(
    'PATCH',
    diskPath(disk.metadata.namespace ?? '', disk.metadata.name ?? ''),
    {
      body: {
        metadata: {
          resourceVersion: disk.metadata.resourceVersion,
          annotations: {
            [Annotations.attachedTo]: 'write' in action ? formatClaim(action.write) : null,
          },
        },
      },
      contentType: 'application/merge-patch+json',
    },
  );
}

async function reconcile(c: DiskContext, key: string): Promise<void> {
  const { namespace = '', name } = splitKey(key);
  const disk = c.disks.get(name, namespace) as VirtualMachineDisk | undefined;
  if (!disk || !c.m.inScope(disk as KubernetesObject)) return;
  if (isDeleting(disk)) return finalize(c, disk, namespace, name);
  if (!disk.metadata.finalizers?.includes(Finalizers.diskProtection)) {
    await addFinalizer(
      c.m.rest,
      diskPath(namespace, name),
      disk as KubernetesObject,
      Finalizers.diskProtection,
    );
    return;
  }
  await upkeepClaim(c, disk);
  const { pvc, ...engine } = await syncEngine(c, disk, namespace, name);
  const resize = await grow(c, disk, pvc);
  const user = attachedTo(c, disk);
  const status = diskStatus({
    disk,
    now: new Date().toISOString(),
    ...engine,
    ...(pvc ? { pvc } : {}),
    ...(resize ? { resize } : {}),
    ...(user ? { attachedTo: user.metadata.name } : {}),
  });
  await writeStatus(c.m.rest, diskPath(namespace, name), disk.status, status);
}

export function diskController(m: Manager): ControllerDefinition {
  const c = contextOf(m);
  const scoped = (): VirtualMachineDisk[] =>
    (c.disks.list() as VirtualMachineDisk[]).filter((d) => m.inScope(d as KubernetesObject));
  const byLabel = (o: KubernetesObject): string[] => {
    const name = o.metadata?.labels?.[Labels.disk];
    return name ? [`${o.metadata?.namespace}/${name}`] : [];
  };

  return {
    name: 'virtualmachinedisk',
    watches: [
      { path: PATHS.disks, keys: (o) => (m.inScope(o) ? [objectKey(o)] : []) },
      {
        path: PATHS.vms,
        keys: (o) =>
          ((o as VirtualMachine & KubernetesObject).spec?.disks ?? []).flatMap((d) =>
            d.virtualMachineDiskName
              ? [`${o.metadata?.namespace}/${d.virtualMachineDiskName}`]
              : [],
          ),
      },
      { path: PVCS, labelSelector: Selectors.managed, keys: byLabel },
      { path: PATHS.dataVolumes, labelSelector: Selectors.managed, keys: byLabel },
      {
        path: PATHS.crds,
        keys: (o) =>
          o.metadata?.name === CDI_CRD ? scoped().map((d) => objectKey(d as KubernetesObject)) : [],
      },
    ],
    allKeys: () => scoped().map((d) => objectKey(d as KubernetesObject)),
    reconcile: (key) => reconcile(c, key),
  };
}
