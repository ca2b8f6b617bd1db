// The local engine as virt-controller: instances made and deleted for VMs by their runStrategy,
// KubeVirt's VM finalizer, and the VM's status.
import { splitKey } from '../../kube/src/manager.ts';
import { isSubset } from '../../kube/src/objects.ts';
import { isNotFound } from '../../kube/src/rest.ts';
import {
  decide,
  printableStatus,
  wantsInstance,
  type InstanceView,
  type VmView,
} from './decide.ts';
import {
  alive,
  deletionOf,
  keyOf,
  runStrategyOf,
  vmPath,
  vmiPath,
  type EngineContext,
  type KvVm,
  type KvVmi,
} from './engine-context.ts';
import { reapFinished, removeDataVolumes, startProcess, stopProcess } from './virt-handler.ts';
import { planVolumes } from './volumes.ts';

/** What virt-controller does: an instance from the VM's template, owned by the VM. */
export async function createInstance(
  ctx: EngineContext,
  vm: KvVm,
  ns: string,
  name: string,
): Promise<void> {
  await ctx.manager.rest.request(
    'POST',
    `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances`,
    {
      body: {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
        metadata: {
          name,
          namespace: ns,
          labels: vm.spec.template?.metadata?.labels ?? {},
          ownerReferences: [
            {
              apiVersion: 'kubevirt.io/v1',
              kind: 'VirtualMachine',
              name,
              uid: vm.metadata?.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: vm.spec.template?.spec ?? { domain: { devices: {} } },
        status: { phase: 'Pending' },
      },
    },
  );
}

export async function deleteInstance(
  ctx: EngineContext,
  ns: string,
  name: string,
  vmi: KvVmi,
): Promise<void> {
  try {
    await ctx.manager.rest.request('DELETE', vmiPath(ns, name), {
      body: { preconditions: { uid: vmi.metadata?.uid } },
    });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/** KubeVirt's own finalizer on VMs it runs: the VM stays until its guest and disks are gone. */
export const VM_FINALIZER = 'kubevirt.io/virtualMachineControllerFinalize';

export async function setFinalizer(
  ctx: EngineContext,
  vm: KvVm,
  ns: string,
  name: string,
  present: boolean,
): Promise<void> {
  const list = vm.metadata?.finalizers ?? [];
  if (list.includes(VM_FINALIZER) === present) return;
  const next = present ? [...list, VM_FINALIZER] : list.filter((f) => f !== VM_FINALIZER);
  // Guarded by the resourceVersion: another writer's finalizers are never lost.
  await ctx.manager.rest
    .request('PATCH', vmPath(ns, name), {
      body: {
        metadata: { finalizers: next, resourceVersion: vm.metadata?.resourceVersion },
      },
      contentType: 'application/merge-patch+json',
    })
    .catch((e) => {
      if (!isNotFound(e) && (e as { code?: number }).code !== 409) throw e;
      ctx.manager.enqueue('local-engine', keyOf(ns, name));
    });
}

/** The VM's status as KubeVirt writes it (what this engine knows of it). */
export function vmStatusOf(
  printable: string,
  created: boolean,
  diskError: { reason: string; message: string } | undefined,
): Record<string, unknown> {
  const ready = printable === 'Running';
  return {
    printableStatus: printable,
    ready,
    created,
    conditions: [
      { type: 'Ready', status: ready ? 'True' : 'False' },
      ...(printable === 'Paused'
        ? [{ type: 'Paused', status: 'True', reason: 'PausedByUser' }]
        : []),
      diskError
        ? { type: 'DataVolumesReady', status: 'False', ...diskError }
        : { type: 'DataVolumesReady', status: 'True', reason: 'AllDVsReady' },
    ],
  };
}

/** Writes the VM's status when it changed: an idle VM costs no write. */
export async function writeVmStatus(
  ctx: EngineContext,
  vm: KvVm,
  status: Record<string, unknown>,
): Promise<void> {
  if (isSubset(status, vm.status ?? {})) return;
  const { namespace: ns = '', name = '' } = vm.metadata ?? {};
  await ctx.manager.rest
    .request('PATCH', `${vmPath(ns, name)}/status`, {
      body: { status },
      contentType: 'application/merge-patch+json',
    })
    .catch((e) => {
      if (!isNotFound(e)) throw e;
    });
}

/** A VM being deleted: once its guest is down and its instance gone, its disks go and so may it. */
export async function finishDeletion(
  ctx: EngineContext,
  vm: KvVm,
  vmi: KvVmi | undefined,
  key: string,
): Promise<void> {
  if (ctx.running.has(key) || vmi) return;
  const { namespace: ns = '', name } = splitKey(key);
  removeDataVolumes(ctx, ns, vm);
  await setFinalizer(ctx, vm, ns, name, false);
}

/** What the engine knows of the VM for its decisions, and how long a start must wait. */
export function viewOf(
  ctx: EngineContext,
  key: string,
  vm: KvVm | undefined,
): { view: VmView; diskError?: { reason: string; message: string }; waitMs: number } {
  const diskError = vm ? diskProblem(ctx, vm, key) : undefined;
  const waitMs = Math.max(
    (ctx.failures.get(key)?.until ?? 0) - Date.now(),
    (ctx.unschedulable.get(key) ?? 0) - Date.now(),
    0,
  );
  const view: VmView = {
    runStrategy: vm ? runStrategyOf(vm) : 'Halted',
    deleting: !vm || deletionOf(vm),
    disksReady: !diskError,
    diskError: !!diskError,
    backoff: waitMs > 0,
    unschedulable: ctx.unschedulable.has(key),
  };
  return { view, ...(diskError ? { diskError } : {}), waitMs };
}

export async function reconcile(
  ctx: EngineContext,
  key: string,
): Promise<{ requeueAfterMs: number } | undefined> {
  const { namespace: ns = '', name } = splitKey(key);
  const vm = ctx.vms.get(name, ns) as KvVm | undefined;
  const vmi = ctx.vmis.get(name, ns) as KvVmi | undefined;
  await reapFinished(ctx, key, vmi);
  const { view, diskError, waitMs } = viewOf(ctx, key, vm);
  const instance: InstanceView = {
    exists: !!vmi && !deletionOf(vmi),
    process: alive(ctx.running.get(key)),
    ...(vmi?.status?.phase ? { phase: vmi.status.phase } : {}),
  };
  for (const action of decide(view, instance)) {
    if (action.kind === 'createInstance' && vm) await createInstance(ctx, vm, ns, name);
    if (action.kind === 'startProcess' && vm) await startProcess(ctx, vm, vmi, key, ns, name);
    if (action.kind === 'stopProcess') await stopProcess(ctx, vm, key, ns, name);
    if (action.kind === 'deleteInstance' && vmi) await deleteInstance(ctx, ns, name, vmi);
  }
  if (!vm || !wantsInstance(view, instance)) {
    ctx.failures.delete(key);
    ctx.unschedulable.delete(key);
  }
  if (!vm) return undefined;
  if (view.deleting)
    return finishDeletion(ctx, vm, ctx.vmis.get(name, ns) as KvVmi | undefined, key).then(
      () => undefined,
    );
  await setFinalizer(ctx, vm, ns, name, true);
  const now = {
    ...instance,
    process: alive(ctx.running.get(key)),
    paused: !!ctx.running.get(key)?.paused,
  };
  const printable = printableStatus(view, now);
  await writeVmStatus(ctx, vm, vmStatusOf(printable, instance.exists || now.process, diskError));
  return waitMs > 0 ? { requeueAfterMs: waitMs } : undefined;
}

/** Whether the VM's volumes can be served here at all (checked before an instance is made). */
export function diskProblem(
  ctx: EngineContext,
  vm: KvVm,
  key: string,
): { reason: string; message: string } | undefined {
  const plan = planVolumes(
    vm.spec.template?.spec?.volumes ?? [],
    vm.spec.dataVolumeTemplates ?? [],
    ctx.options.library ?? [],
    () => 0, // claims are looked up when the guest starts
  );
  if (plan.ok) return undefined;
  ctx.manager.log.debug({ vm: key, reason: plan.reason }, plan.message);
  return { reason: plan.reason, message: plan.message };
}
