// VirtualMachine controller: the reconcile of one VM. It resolves class, image and disks
// (resolve.ts), hands the translation to KubeVirt (handover.ts: server-side apply, only when it
// differs; runStrategy and the pause subresource power the VM), and mirrors the engine's state
// into status (status.ts). Deleting a VM removes what it created (cleanup.ts: finalizer; no
// reliance on garbage collection) and keeps the VirtualMachineDisks users made.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { VirtualMachine } from '../../../api/generated/types.ts';
import type { ControllerDefinition, Manager } from '../../../kube/src/manager.ts';
import { objectKey, splitKey } from '../../../kube/src/manager.ts';
import { addFinalizer, writeStatus } from '../../../kube/src/objects.ts';
import { getLive } from '../../../kube/src/ownership.ts';
import { Finalizers, Labels, Selectors } from '../../../api/src/wellknown.ts';
import { cleanup } from './cleanup.ts';
import {
  CDI_CRD,
  contextOf,
  established,
  KUBEVIRT_CRD,
  PATHS,
  vmPath,
  type VmContext,
} from './context.ts';
import { syncEngine } from './handover.ts';
import { dataVolumeNames } from './names.ts';
import { disksWereReady, resolve } from './resolve.ts';
import { computeVmStatus } from './status.ts';
import type { TranslationOptions } from './translate.ts';

/**
 * When a DataVolume of the VM is missing, whether it was lost (ready before) is read from the VM
 * as stored: the cache may not have the status the previous reconcile wrote yet.
 */
async function freshWhenDisksMissing(
  context: VmContext,
  vm: VirtualMachine,
  path: string,
): Promise<VirtualMachine> {
  const ns = vm.metadata.namespace ?? '';
  if (!established(context.crds, CDI_CRD) || disksWereReady(vm)) return vm;
  if (dataVolumeNames(vm).every((dvName) => context.dataVolumes.get(dvName, ns))) return vm;
  const live = await getLive<VirtualMachine & KubernetesObject>(context.manager.rest, path);
  return live && live.metadata.uid === vm.metadata.uid ? live : vm;
}

async function reconcile(
  context: VmContext,
  key: string,
): Promise<{ requeueAfterMs: number } | undefined> {
  const { namespace = '', name } = splitKey(key);
  let vm = context.vms.get(name, namespace) as VirtualMachine | undefined;
  if (!vm) return undefined;
  const path = vmPath(namespace, name);
  if ((vm.metadata as { deletionTimestamp?: unknown }).deletionTimestamp) {
    if (vm.metadata.finalizers?.includes(Finalizers.vmCleanup)) await cleanup(context, vm);
    return undefined;
  }
  if (!vm.metadata.finalizers?.includes(Finalizers.vmCleanup)) {
    // Go on with the object the API server answered: no wait for the watch to bring it back.
    const updated = await addFinalizer(
      context.manager.rest,
      path,
      vm as KubernetesObject,
      Finalizers.vmCleanup,
    );
    if (!updated) return undefined;
    vm = updated as VirtualMachine;
  }
  vm = await freshWhenDisksMissing(context, vm, path);
  const resolution = resolve(context, vm, namespace);
  const { foreignCheck, acceptedCheck, ...engine } = await syncEngine(
    context,
    vm,
    namespace,
    name,
    resolution,
  );
  const status = computeVmStatus({
    vm,
    now: new Date().toISOString(),
    classCheck: resolution.classCheck,
    imageCheck: resolution.imageCheck,
    disksCheck: resolution.disksCheck,
    engineCheck: foreignCheck ?? resolution.engineCheck,
    ...(acceptedCheck ? { acceptedCheck } : {}),
    ...engine,
  });
  await writeStatus(context.manager.rest, path, vm.status, status);
  // Without KubeVirt, look again now and then (its CRD's and CR's arrival also trigger a
  // reconcile); after a refusal, try again in a while (a change to the VM retries at once).
  if (acceptedCheck && !acceptedCheck.ok) return { requeueAfterMs: 300_000 };
  return resolution.engine ? undefined : { requeueAfterMs: 60_000 };
}

export function vmController(manager: Manager, options?: TranslationOptions): ControllerDefinition {
  const context = contextOf(manager, options);
  const inScope = (): VirtualMachine[] =>
    (context.vms.list() as VirtualMachine[]).filter((v) => manager.inScope(v as KubernetesObject));
  const keysWhere = (predicate: (v: VirtualMachine) => boolean): string[] =>
    inScope()
      .filter(predicate)
      .map((v) => objectKey(v as KubernetesObject));
  const byVmLabel = (o: KubernetesObject): string[] => {
    const name = o.metadata?.labels?.[Labels.vm] ?? o.metadata?.name;
    const vm = context.vms.get(name ?? '', o.metadata?.namespace);
    return vm && manager.inScope(vm) ? [`${o.metadata?.namespace}/${name}`] : [];
  };

  return {
    name: 'virtualmachine',
    concurrency: 8,
    watches: [
      { path: PATHS.vms, keys: (o) => (manager.inScope(o) ? [objectKey(o)] : []) },
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
      {
        path: PATHS.networks,
        keys: (o) =>
          keysWhere(
            (v) => !!v.spec.network?.interfaces?.some((i) => i.network === o.metadata?.name),
          ),
      },
      { path: PATHS.kvVms, labelSelector: Selectors.vm, keys: byVmLabel },
      { path: PATHS.kvVmis, labelSelector: Selectors.vm, keys: byVmLabel },
      { path: PATHS.dataVolumes, labelSelector: Selectors.managed, keys: byVmLabel },
    ],
    allKeys: () => keysWhere(() => true),
    reconcile: (key) => reconcile(context, key),
  };
}
