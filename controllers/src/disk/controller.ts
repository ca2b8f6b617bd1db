// VirtualMachineDisk controller. With CDI: a DataVolume (blank, http, registry, or a clone of a
// claim) using the storage settled at admission. Without CDI: a plain PVC for a blank disk, and a
// clear condition (not a crash) for imports that need CDI. Status follows the claim. Growing
// spec.size grows the claim. A disk attached to a VM cannot be deleted from under it.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { VirtualMachine, VirtualMachineDisk } from '../../../api/generated/types.ts';
import { deleteExactly, findOwn, isOwnedBy } from '../../../kube/src/ownership.ts';
import type { ControllerDefinition, Manager } from '../../../kube/src/manager.ts';
import { objectKey, splitKey } from '../../../kube/src/manager.ts';
import { addFinalizer, removeFinalizer, writeStatus } from '../../../kube/src/objects.ts';
import { CDI_CRD, PATHS } from '../vm/context.ts';
import { API_VERSION, Finalizers, Labels, Selectors } from '../../../api/src/wellknown.ts';
import { diskStatus, inUseStatus } from './status.ts';
import {
  PVCS,
  isDeleting,
  diskPath,
  type DiskContext,
  contextOf,
  cdiInstalled,
  attachedTo,
  dvCollection,
  pvcCollection,
} from './context.ts';
import { ownDataVolume, syncEngine, grow, upkeepClaim } from './storage.ts';

/** Deleting: wait while a VM uses the disk, else remove its DataVolume and claim, then the finalizer. */
async function finalize(
  context: DiskContext,
  disk: VirtualMachineDisk,
  namespace: string,
  name: string,
): Promise<void> {
  if (!disk.metadata.finalizers?.includes(Finalizers.diskProtection)) return;
  const path = diskPath(namespace, name);
  const user = attachedTo(context, disk);
  if (user) {
    await writeStatus(
      context.manager.rest,
      path,
      disk.status,
      inUseStatus(disk, user.metadata.name ?? '', new Date().toISOString()),
    );
    await context.manager.event(
      { apiVersion: API_VERSION, kind: 'VirtualMachineDisk', metadata: disk.metadata },
      'Warning',
      'InUse',
      `cannot delete: attached to VM ${user.metadata.name}`,
    );
    return;
  }
  // Only what is the disk's own goes: its DataVolume, and the claim it (or its DataVolume) owns.
  const dv = cdiInstalled(context)
    ? await ownDataVolume(context, disk, namespace, name)
    : undefined;
  if (dv)
    await deleteExactly(
      context.manager.rest,
      `${dvCollection(namespace)}/${name}`,
      dv.metadata?.uid,
    );
  const pvc = await findOwn(
    context.pvcs,
    context.manager.rest,
    pvcCollection(namespace),
    name,
    namespace,
    (p) => isOwnedBy(p, [disk.metadata.uid, dv?.metadata?.uid]),
  );
  if (pvc)
    await deleteExactly(
      context.manager.rest,
      `${pvcCollection(namespace)}/${name}`,
      pvc.metadata?.uid,
    );
  await removeFinalizer(
    context.manager.rest,
    path,
    disk as KubernetesObject,
    Finalizers.diskProtection,
  );
}

async function reconcile(context: DiskContext, key: string): Promise<void> {
  const { namespace = '', name } = splitKey(key);
  const disk = context.disks.get(name, namespace) as VirtualMachineDisk | undefined;
  if (!disk || !context.manager.inScope(disk as KubernetesObject)) return;
  if (isDeleting(disk)) return finalize(context, disk, namespace, name);
  if (!disk.metadata.finalizers?.includes(Finalizers.diskProtection)) {
    await addFinalizer(
      context.manager.rest,
      diskPath(namespace, name),
      disk as KubernetesObject,
      Finalizers.diskProtection,
    );
    return;
  }
  await upkeepClaim(context, disk);
  const { pvc, ...engine } = await syncEngine(context, disk, namespace, name);
  const resize = await grow(context, disk, pvc);
  const user = attachedTo(context, disk);
  const status = diskStatus({
    disk,
    now: new Date().toISOString(),
    ...engine,
    ...(pvc ? { pvc } : {}),
    ...(resize ? { resize } : {}),
    ...(user ? { attachedTo: user.metadata.name } : {}),
  });
  await writeStatus(context.manager.rest, diskPath(namespace, name), disk.status, status);
}

export function diskController(manager: Manager): ControllerDefinition {
  const c = contextOf(manager);
  const scoped = (): VirtualMachineDisk[] =>
    (c.disks.list() as VirtualMachineDisk[]).filter((d) => manager.inScope(d as KubernetesObject));
  const byLabel = (o: KubernetesObject): string[] => {
    const name = o.metadata?.labels?.[Labels.disk];
    return name ? [`${o.metadata?.namespace}/${name}`] : [];
  };

  return {
    name: 'virtualmachinedisk',
    watches: [
      // A disk, and the disks that clone it (they wait for it to be Ready).
      {
        path: PATHS.disks,
        keys: (o) => [
          ...(manager.inScope(o) ? [objectKey(o)] : []),
          ...scoped()
            .filter(
              (d) =>
                d.metadata.namespace === o.metadata?.namespace &&
                d.spec.source?.disk?.name === o.metadata?.name,
            )
            .map((d) => objectKey(d as KubernetesObject)),
        ],
      },
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
