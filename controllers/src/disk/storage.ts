// A disk's storage objects: the DataVolume (with CDI) or the PVC (without) that vmplane makes for
// it, kept owned and in sync with the disk, grown when the disk grows, and the claim's upkeep
// annotation while a VM uses it.
import type { KubernetesObject, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { V1beta1DataVolume } from '@kubevirt-ui-ext/kubevirt-api/containerized-data-importer';
import type {
  ClusterVirtualMachineImage,
  VirtualMachine,
  VirtualMachineDisk,
  VirtualMachineImage,
} from '../../../api/generated/types.ts';
import { parseQuantity } from '../../../api/src/quantity.ts';
import { ApiError } from '../../../kube/src/rest.ts';
import {
  createOnly,
  describeForeign,
  findOwn,
  getLive,
  isControlledBy,
  isCurrent,
  isOwnedBy,
  StaleCache,
} from '../../../kube/src/ownership.ts';
import { Annotations, API_VERSION, Labels, MANAGER, Reasons } from '../../../api/src/wellknown.ts';
import { claimUpkeep, formatClaim, parseClaim } from '../../../api/src/attach-claim.ts';
import {
  dataVolumeSource,
  diskPhase,
  lost,
  nameInUse,
  needsCdi,
  wasProvisioned,
  type Readiness,
  type ResizeOutcome,
} from './status.ts';
import {
  diskPath,
  type DiskContext,
  cdiInstalled,
  dvCollection,
  pvcCollection,
} from './context.ts';

/** What the engine side of a disk looks like after syncing it. */
export interface EngineState {
  readiness: Readiness;
  progress?: string;
  /** The claim behind the disk, when it is the disk's own. */
  pvc?: V1PersistentVolumeClaim;
}

/** The claim settings a disk asks for (settled at admission). */
export function claimSpec(disk: VirtualMachineDisk): Record<string, unknown> {
  return {
    ...(disk.spec.storageClassName ? { storageClassName: disk.spec.storageClassName } : {}),
    ...(disk.spec.accessModes ? { accessModes: disk.spec.accessModes } : {}),
    ...(disk.spec.volumeMode ? { volumeMode: disk.spec.volumeMode } : {}),
    resources: { requests: { storage: disk.spec.size } },
  };
}

/** Labels and owner of what a disk makes (its DataVolume or claim). */
export function ownedMetadata(disk: VirtualMachineDisk): Record<string, unknown> {
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

/** The disk's DataVolume, if there is one and it is the disk's own. */
export async function ownDataVolume(
  context: DiskContext,
  disk: VirtualMachineDisk,
  namespace: string,
  name: string,
): Promise<KubernetesObject | undefined> {
  return findOwn(
    context.dataVolumes,
    context.manager.rest,
    dvCollection(namespace),
    name,
    namespace,
    (dv) => isControlledBy(dv, disk.metadata.uid),
  );
}

/** The image a disk is filled from, when it names one. */
export function resolveImage(
  context: DiskContext,
  disk: VirtualMachineDisk,
  namespace: string,
): VirtualMachineImage | ClusterVirtualMachineImage | undefined {
  const src = disk.spec.source?.image;
  if (!src) return undefined;
  return (
    src.kind === 'ClusterVirtualMachineImage'
      ? context.clusterImages.get(src.name)
      : context.images.get(src.name, namespace)
  ) as VirtualMachineImage | undefined;
}

/**
 * createOnly, where an admission refusal caused by a namesake counts as the namesake: CDI's
 * webhook refuses a DataVolume named after a claim that exists (before the API server could
 * answer 409 for a DataVolume that exists). The namesake is the object of that name, else the
 * claim; a refusal with neither stands.
 */
async function createOrNamesake<T extends KubernetesObject>(
  context: DiskContext,
  collection: string,
  obj: T,
): Promise<{ created: T } | { exists: T | undefined } | { claim: V1PersistentVolumeClaim }> {
  try {
    return await createOnly(context.manager.rest, collection, obj, 'vmplane-controller');
  } catch (e) {
    if (!(e instanceof ApiError) || (e.code !== 400 && e.code !== 422)) throw e;
    const name = obj.metadata?.name ?? '';
    const live = await getLive<T>(context.manager.rest, `${collection}/${name}`);
    if (live) return { exists: live };
    const ns = obj.metadata?.namespace ?? '';
    const claim =
      collection === dvCollection(ns)
        ? await getLive<V1PersistentVolumeClaim>(
            context.manager.rest,
            `${pvcCollection(ns)}/${name}`,
          )
        : undefined;
    if (claim) return { claim };
    throw e;
  }
}

/** Says on the disk, and in an Event, that a foreign object holds its name. */
async function namesake(
  context: DiskContext,
  disk: VirtualMachineDisk,
  foreign: string,
): Promise<{ readiness: Readiness }> {
  await context.manager.event(
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

/**
 * The disk's own object (DataVolume or claim) of this name: from the cache, else created (never
 * over an existing object). A namesake that is not the disk's, or storage that vanished after
 * the disk was ready, is reported instead.
 */
export async function ensureOwn<T extends KubernetesObject>(
  context: DiskContext,
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
      const live = await getLive<T>(context.manager.rest, `${collection}/${disk.metadata.name}`);
      if (!live) return { readiness: lost(`${kind} ${ns}/${disk.metadata.name}`) };
      obj = live;
    } else {
      if (
        !(await isCurrent(
          context.manager.rest,
          diskPath(ns, disk.metadata.name ?? ''),
          disk.metadata.uid,
        ))
      )
        throw new StaleCache(`VirtualMachineDisk ${ns}/${disk.metadata.name}`);
      const r = await createOrNamesake(context, collection, make());
      if ('created' in r) return { obj: r.created };
      if ('claim' in r)
        return namesake(context, disk, describeForeign('PersistentVolumeClaim', r.claim));
      if (!r.exists) throw new Error(`${kind} ${ns}/${disk.metadata.name} changed under us`);
      obj = r.exists;
    }
  }
  if (isControlledBy(obj, disk.metadata.uid)) return { obj };
  // The cache may hold a namesake deleted a moment ago: ask the API server before saying so.
  const live = await getLive<T>(context.manager.rest, `${collection}/${disk.metadata.name}`);
  if (!live) throw new StaleCache(`${kind} ${ns}/${disk.metadata.name}`);
  if (isControlledBy(live, disk.metadata.uid)) return { obj: live };
  return namesake(context, disk, describeForeign(kind, live));
}

/** The disk's claim, when it is its own (made by vmplane, or by CDI for the disk's DataVolume). */
export function ownClaim(
  context: DiskContext,
  disk: VirtualMachineDisk,
  dv: KubernetesObject | undefined,
): V1PersistentVolumeClaim | undefined {
  const pvc = context.pvcs.get(disk.metadata.name ?? '', disk.metadata.namespace) as
    (V1PersistentVolumeClaim & KubernetesObject) | undefined;
  return pvc && isOwnedBy(pvc, [disk.metadata.uid, dv?.metadata?.uid]) ? pvc : undefined;
}

/** Makes the disk's DataVolume (with CDI) or claim (blank, without CDI), and reads how it is doing. */
export async function syncEngine(
  context: DiskContext,
  disk: VirtualMachineDisk,
  namespace: string,
  name: string,
): Promise<EngineState> {
  const src = disk.spec.source;
  if (cdiInstalled(context)) {
    const existing = context.dataVolumes.get(name, namespace) as
      (V1beta1DataVolume & KubernetesObject) | undefined;
    const cloned = disk.spec.source?.disk?.name;
    // The source matters until the DataVolume is written: a clone whose source disk was deleted
    // afterwards keeps its bytes, and its DataVolume says how it went.
    const source = existing
      ? existing.spec.source
      : dataVolumeSource(
          disk,
          resolveImage(context, disk, namespace),
          cloned
            ? (context.disks.get(cloned, namespace) as VirtualMachineDisk | undefined)
            : undefined,
        );
    if (source && 'error' in source)
      return { readiness: { phase: 'Pending', reason: source.reason, message: source.error } };
    const own = await ensureOwn(
      context,
      disk,
      'DataVolume',
      existing,
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
    const pvc = ownClaim(context, disk, dv);
    return {
      readiness: diskPhase(dv, undefined),
      ...(dv.status?.progress ? { progress: dv.status.progress } : {}),
      ...(dv.status?.restartCount ? { restarts: dv.status.restartCount } : {}),
      ...(pvc ? { pvc } : {}),
    };
  }
  if (src && !src.blank) return { readiness: needsCdi(disk) };
  const own = await ensureOwn(
    context,
    disk,
    'PersistentVolumeClaim',
    context.pvcs.get(name, namespace) as (V1PersistentVolumeClaim & KubernetesObject) | undefined,
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
 * resizes only bound claims; until then the disk says it is waiting. With CDI it is the claim
 * CDI made that grows: CDI's admission refuses any change to a DataVolume's spec (CDI v1.65
 * pkg/apiserver/webhooks/datavolume-validate.go, "Cannot update DataVolume Spec").
 */
export async function grow(
  context: DiskContext,
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
    await context.manager.rest.request(
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
export async function upkeepClaim(context: DiskContext, disk: VirtualMachineDisk): Promise<void> {
  const users = (context.vms.list() as VirtualMachine[])
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
  await context.manager.rest.request(
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
