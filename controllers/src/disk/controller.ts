// VirtualMachineDisk controller. With CDI: a DataVolume (blank, http, registry, or a clone of a
// claim) using the storage settled at admission. Without CDI: a plain PVC for a blank disk, and a
// clear condition (not a crash) for imports that need CDI. Status follows the claim. Growing
// spec.size grows the claim. A disk attached to a VM cannot be deleted from under it.
import type { KubernetesObject, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { V1beta1DataVolume, V1beta1DataVolumeSource } from '@kubevirt-ui-ext/kubevirt-api/containerized-data-importer';
import type { ClusterVirtualMachineImage, VirtualMachine, VirtualMachineDisk, VirtualMachineDiskStatus, VirtualMachineImage } from '../../../api/generated/types.ts';
import { parseQuantity } from '../../../api/src/quantity.ts';
import { ApiError } from '../../../cli/src/rest.ts';
import type { ControllerDefinition, Manager } from '../runtime/manager.ts';
import { objectKey, splitKey } from '../runtime/manager.ts';
import { addFinalizer, removeFinalizer, writeStatus } from '../runtime/objects.ts';
import { CDI_CRD, PATHS } from '../vm/controller.ts';

export const DISK_FINALIZER = 'vmplane.io/disk-protection';
export const DISK_LABEL = 'vmplane.io/disk';
const PVCS = '/api/v1/persistentvolumeclaims';

type Condition = NonNullable<VirtualMachineDiskStatus['conditions']>[number];

/** What CDI should import into the disk, or a reason it cannot. */
export function dataVolumeSource(disk: VirtualMachineDisk, image: VirtualMachineImage | ClusterVirtualMachineImage | undefined): V1beta1DataVolumeSource | { error: string } {
  const src = disk.spec.source;
  if (!src || src.blank) return { blank: {} };
  if (src.pvc) return { pvc: { name: src.pvc.name, namespace: src.pvc.namespace ?? disk.metadata.namespace ?? '' } };
  if (!image) return { error: `image ${src.image?.kind ?? 'VirtualMachineImage'}/${src.image?.name} does not exist` };
  const s = image.spec.source;
  if (s.http) return { http: { url: s.http.url } };
  if (s.registry) return { registry: { url: s.registry.url } };
  return { pvc: { name: s.pvc?.name ?? '', namespace: s.pvc?.namespace ?? image.metadata.namespace ?? '' } };
}

/** Disk status from the DataVolume's phase (CDI) or the claim's (plain PVC). */
export function diskPhase(dv: V1beta1DataVolume | undefined, pvc: V1PersistentVolumeClaim | undefined): { phase: VirtualMachineDiskStatus['phase']; reason: string; message: string } {
  if (dv) {
    const p = dv.status?.phase ?? 'Pending';
    if (p === 'Succeeded') return { phase: 'Ready', reason: 'Ready', message: 'the disk is ready' };
    if (p === 'Failed') return { phase: 'Failed', reason: 'ImportFailed', message: dv.status?.conditions?.find((c) => c.type === 'Running')?.message ?? 'CDI reports the import failed' };
    if (/InProgress|Scheduled|Importing|Cloning|Upload/i.test(p)) return { phase: 'Importing', reason: p, message: `CDI is filling the disk (${p}${dv.status?.progress ? `, ${dv.status.progress}` : ''})` };
    if (p === 'WaitForFirstConsumer' || p === 'PendingPopulation') return { phase: 'Pending', reason: p, message: 'the storage class binds volumes when a VM first uses them' };
    return { phase: 'Pending', reason: p, message: `CDI reports ${p}` };
  }
  if (pvc?.status?.phase === 'Bound') return { phase: 'Ready', reason: 'Ready', message: 'the claim is bound' };
  return { phase: 'Pending', reason: 'ClaimPending', message: 'waiting for the claim to be bound' };
}

export function diskController(m: Manager): ControllerDefinition {
  const disks = m.informer<VirtualMachineDisk & KubernetesObject>(PATHS.disks);
  const vms = m.informer<VirtualMachine & KubernetesObject>(PATHS.vms);
  const images = m.informer<VirtualMachineImage & KubernetesObject>(PATHS.images);
  const clusterImages = m.informer<ClusterVirtualMachineImage & KubernetesObject>(PATHS.clusterImages);
  const crds = m.informer(PATHS.crds);
  const pvcs = m.informer<V1PersistentVolumeClaim & KubernetesObject>(PVCS);
  const dataVolumes = m.informer<V1beta1DataVolume & KubernetesObject>(PATHS.dataVolumes, { optional: true });
  const cdiInstalled = (): boolean =>
    !!(crds.get(CDI_CRD) as { status?: { conditions?: { type: string; status: string }[] } } | undefined)?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  const scoped = (): VirtualMachineDisk[] => (disks.list() as VirtualMachineDisk[]).filter((d) => m.inScope(d as KubernetesObject));
  const attachedTo = (d: VirtualMachineDisk): VirtualMachine | undefined =>
    (vms.list() as VirtualMachine[]).find(
      (v) => v.metadata.namespace === d.metadata.namespace && !(v.metadata as { deletionTimestamp?: string }).deletionTimestamp && !!v.spec.disks?.some((x) => x.virtualMachineDiskName === d.metadata.name),
    );
  const byLabel = (o: KubernetesObject): string[] => {
    const name = o.metadata?.labels?.[DISK_LABEL];
    return name ? [`${o.metadata?.namespace}/${name}`] : [];
  };

  return {
    name: 'virtualmachinedisk',
    watches: [
      { path: PATHS.disks, keys: (o) => (m.inScope(o) ? [objectKey(o)] : []) },
      {
        path: PATHS.vms,
        keys: (o) => ((o as VirtualMachine & KubernetesObject).spec?.disks ?? []).flatMap((d) => (d.virtualMachineDiskName ? [`${o.metadata?.namespace}/${d.virtualMachineDiskName}`] : [])),
      },
      { path: PVCS, keys: byLabel },
      { path: PATHS.dataVolumes, keys: byLabel },
      { path: PATHS.crds, keys: (o) => (o.metadata?.name === CDI_CRD ? scoped().map((d) => objectKey(d as KubernetesObject)) : []) },
    ],
    allKeys: () => scoped().map((d) => objectKey(d as KubernetesObject)),
    reconcile: async (key) => {
      const { namespace = '', name } = splitKey(key);
      const disk = disks.get(name, namespace) as VirtualMachineDisk | undefined;
      if (!disk || !m.inScope(disk as KubernetesObject)) return;
      const path = `/apis/vmplane.io/v1alpha1/namespaces/${namespace}/virtualmachinedisks/${name}`;
      const cdi = cdiInstalled();
      const now = new Date().toISOString();
      const user = attachedTo(disk);

      if ((disk.metadata as { deletionTimestamp?: string }).deletionTimestamp) {
        if (!disk.metadata.finalizers?.includes(DISK_FINALIZER)) return;
        if (user) {
          const prev = disk.status?.conditions?.find((c) => c.type === 'Deleting' && c.reason === 'InUse');
          const status: VirtualMachineDiskStatus = {
            ...disk.status,
            conditions: [
              ...(disk.status?.conditions ?? []).filter((c) => c.type !== 'Deleting'),
              { type: 'Deleting', status: 'False', reason: 'InUse', message: `attached to VM ${user.metadata.name}: detach it (remove it from spec.disks) and the deletion completes`, lastTransitionTime: prev?.lastTransitionTime ?? now },
            ],
          };
          await writeStatus(m.rest, path, disk.status, status);
          await m.event({ apiVersion: 'vmplane.io/v1alpha1', kind: 'VirtualMachineDisk', metadata: disk.metadata }, 'Warning', 'InUse', `cannot delete: attached to VM ${user.metadata.name}`);
          return;
        }
        for (const p of [cdi ? `/apis/cdi.kubevirt.io/v1beta1/namespaces/${namespace}/datavolumes/${name}` : undefined, `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${name}`]) {
          if (!p) continue;
          try {
            await m.rest.request('DELETE', p);
          } catch (e) {
            if (!(e instanceof ApiError && e.code === 404)) throw e;
          }
        }
        await removeFinalizer(m.rest, path, disk as KubernetesObject, DISK_FINALIZER);
        return;
      }
      if (!disk.metadata.finalizers?.includes(DISK_FINALIZER)) {
        await addFinalizer(m.rest, path, disk as KubernetesObject, DISK_FINALIZER);
        return;
      }

      const labels = { [DISK_LABEL]: name, 'app.kubernetes.io/managed-by': 'vmplane' };
      const owner = disk.metadata.uid ? [{ apiVersion: 'vmplane.io/v1alpha1', kind: 'VirtualMachineDisk', name, uid: disk.metadata.uid, controller: true }] : [];
      const storage = {
        ...(disk.spec.storageClassName ? { storageClassName: disk.spec.storageClassName } : {}),
        ...(disk.spec.accessModes ? { accessModes: disk.spec.accessModes } : {}),
        ...(disk.spec.volumeMode ? { volumeMode: disk.spec.volumeMode } : {}),
        resources: { requests: { storage: disk.spec.size } },
      };
      let condition: Condition;
      let phase: VirtualMachineDiskStatus['phase'];
      let progress: string | undefined;
      const src = disk.spec.source;
      const image = src?.image ? ((src.image.kind === 'ClusterVirtualMachineImage' ? clusterImages.get(src.image.name) : images.get(src.image.name, namespace)) as VirtualMachineImage | undefined) : undefined;
      if (cdi) {
        const source = dataVolumeSource(disk, image);
        if ('error' in source) {
          phase = 'Pending';
          condition = { type: 'Ready', status: 'False', reason: 'SourceNotFound', message: source.error, lastTransitionTime: now };
        } else {
          let dv = dataVolumes.get(name, namespace) as V1beta1DataVolume | undefined;
          if (!dv) {
            dv = await m.rest.apply<V1beta1DataVolume>(
              { apiVersion: 'cdi.kubevirt.io/v1beta1', kind: 'DataVolume', metadata: { name, namespace, labels, ownerReferences: owner }, spec: { source, storage } } as never,
              { fieldManager: 'vmplane-controller' },
            );
          }
          const p = diskPhase(dv, undefined);
          phase = p.phase;
          progress = dv.status?.progress;
          condition = { type: 'Ready', status: p.phase === 'Ready' ? 'True' : 'False', reason: p.reason, message: p.message, lastTransitionTime: now };
        }
      } else if (!src || src.blank) {
        let pvc = pvcs.get(name, namespace) as V1PersistentVolumeClaim | undefined;
        if (!pvc) {
          pvc = await m.rest.apply<V1PersistentVolumeClaim>(
            { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace, labels, ownerReferences: owner }, spec: storage } as never,
            { fieldManager: 'vmplane-controller' },
          );
        }
        const p = diskPhase(undefined, pvc);
        phase = p.phase;
        condition = { type: 'Ready', status: p.phase === 'Ready' ? 'True' : 'False', reason: p.reason, message: p.message, lastTransitionTime: now };
      } else {
        phase = 'Pending';
        condition = {
          type: 'Ready',
          status: 'False',
          reason: 'CDINotInstalled',
          message: `filling a disk from ${src.image ? `image ${src.image.name}` : `claim ${src.pvc?.name}`} needs CDI (cdi.kubevirt.io), which is not installed: install CDI, or use a blank disk`,
          lastTransitionTime: now,
        };
      }

      // Growing: the claim follows spec.size upwards (shrinking is refused at admission).
      // Kubernetes resizes only bound claims; until then the disk says it is waiting.
      const pvc = pvcs.get(name, namespace) as V1PersistentVolumeClaim | undefined;
      const requested = pvc?.spec?.resources?.requests?.storage;
      let resize: Condition | undefined;
      if (pvc && requested && parseQuantity(disk.spec.size).compareTo(parseQuantity(String(requested))) > 0) {
        const prevResize = disk.status?.conditions?.find((c) => c.type === 'Resized');
        const since = (reason: string): string => (prevResize?.reason === reason ? prevResize.lastTransitionTime : now);
        if (pvc.status?.phase !== 'Bound') {
          resize = { type: 'Resized', status: 'False', reason: 'WaitingForBinding', message: `the claim grows to ${disk.spec.size} once it is bound`, lastTransitionTime: since('WaitingForBinding') };
        } else {
          try {
            await m.rest.request('PATCH', `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${name}`, {
              body: { spec: { resources: { requests: { storage: disk.spec.size } } } },
              contentType: 'application/merge-patch+json',
            });
          } catch (e) {
            resize = { type: 'Resized', status: 'False', reason: 'ResizeRefused', message: `the claim could not grow to ${disk.spec.size}: ${(e as Error).message.split('\n')[0]}`, lastTransitionTime: since('ResizeRefused') };
          }
        }
      }

      const prev = disk.status?.conditions?.find((c) => c.type === 'Ready');
      if (prev && prev.status === condition.status && prev.reason === condition.reason) condition.lastTransitionTime = prev.lastTransitionTime;
      const status: VirtualMachineDiskStatus = {
        observedGeneration: disk.metadata.generation ?? 0,
        phase,
        claimName: name,
        conditions: resize ? [condition, resize] : [condition],
        ...(progress ? { progress } : {}),
        ...(pvc?.status?.capacity?.storage ? { capacity: String(pvc.status.capacity.storage) } : {}),
        ...(user ? { attachedTo: user.metadata.name } : {}),
      };
      await writeStatus(m.rest, path, disk.status, status);
      return undefined;
    },
  };
}
