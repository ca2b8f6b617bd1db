// Deleting a VM: what it created goes (its KubeVirt VM, its DataVolumes), then its finalizer. No
// reliance on garbage collection; the VirtualMachineDisks users made stay, and so does any
// namesake that is not the VM's own.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { removeFinalizer } from '../../../kube/src/objects.ts';
import { deleteExactly, findOwn, isControlledBy } from '../../../kube/src/ownership.ts';
import { Finalizers, Labels } from '../../../api/src/wellknown.ts';
import {
  CDI_CRD,
  dvCollection,
  established,
  KUBEVIRT_CRD,
  kvCollection,
  vmPath,
  type VmContext,
} from './context.ts';
import { dataVolumeNames, isVmDataVolume } from './names.ts';

/**
 * Deleting a VM: its KubeVirt VM and DataVolumes go, but only those that are its own (controller
 * owner reference by UID; the label only finds candidates), each deleted with its UID as a
 * precondition. A namesake
 * that belongs to someone else stays, whatever its name.
 */
export async function cleanup(context: VmContext, vm: VirtualMachine): Promise<void> {
  const rest = context.manager.rest;
  const ns = vm.metadata.namespace ?? '';
  const name = vm.metadata.name ?? '';
  const uid = vm.metadata.uid;
  const ownKv = established(context.crds, KUBEVIRT_CRD)
    ? await findOwn(context.kvVms, rest, kvCollection(ns), name, ns, (kv) =>
        isControlledBy(kv, uid),
      )
    : undefined;
  if (established(context.crds, CDI_CRD)) {
    const labelled = (context.dataVolumes.list() as readonly KubernetesObject[])
      .filter((dv) => dv.metadata?.namespace === ns && dv.metadata?.labels?.[Labels.vm] === name)
      .map((dv) => dv.metadata?.name ?? '');
    for (const dvName of new Set([...dataVolumeNames(vm), ...labelled])) {
      const dv = await findOwn(context.dataVolumes, rest, dvCollection(ns), dvName, ns, (found) =>
        isVmDataVolume(found, { name, uid }, ownKv?.metadata?.uid),
      );
      if (dv) await deleteExactly(rest, `${dvCollection(ns)}/${dvName}`, dv.metadata?.uid);
    }
  }
  if (ownKv) await deleteExactly(rest, `${kvCollection(ns)}/${name}`, ownKv.metadata?.uid);
  await removeFinalizer(rest, vmPath(ns, name), vm as KubernetesObject, Finalizers.vmCleanup);
}
