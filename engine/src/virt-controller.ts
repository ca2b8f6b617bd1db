// The local engine as virt-controller for VMs: their DataVolumes (made from the templates and,
// playing CDI for the sources it can give, filled), their instances by runStrategy and
// status.stateChangeRequests, KubeVirt's VM finalizer, and the VM's status.
// Follows KubeVirt v1.7.0's pkg/virt-controller/watch/vm/vm.go (sync, syncRunStrategy,
// startVMI, updateStatus, syncConditions, syncStartFailureStatus, handleDataVolumes).
import { rmSync } from 'node:fs';
import { isSubset } from '../../kube/src/objects.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { isNotFound } from '../../kube/src/rest.ts';
import {
  dvPath,
  ownedBy,
  ownerRef,
  syncDataVolumes,
  templateDisk,
  type DataVolume,
} from './cdi/templates.ts';
import {
  printableStatus,
  startBackoffMs,
  vmActions,
  type InstanceView,
  type VmAction,
  type VmView,
} from './decide.ts';
import {
  deletionOf,
  diskPath,
  runStrategyOf,
  vmiPath,
  vmPath,
  type EngineContext,
  type KvVm,
  type KvVmi,
  type VmiSpec,
} from './engine-context.ts';
import type { Condition } from './instance-status.ts';
import {
  applyInstancetype,
  instancetypeAnnotations,
  lookupPath,
  type InstancetypeRef,
  type InstancetypeSpec,
  type PreferenceSpec,
} from './instancetype.ts';
import { VM_CONTROLLER_FINALIZER, VMI_FINALIZER } from './virt-handler.ts';

interface Expanded {
  spec: VmiSpec;
  annotations: Record<string, string>;
}

/**
 * The instance's spec from the VM's template with its instance type and preference applied, as
 * virt-controller does; one that does not exist is the VM's Failure (FailedFindInstancetype).
 */
async function expand(
  ctx: EngineContext,
  vm: KvVm,
): Promise<Expanded | { failure: { reason: string; message: string } }> {
  const ns = vm.metadata?.namespace ?? '';
  const spec: VmiSpec = vm.spec.template?.spec ?? { domain: { devices: {} } };
  const found = async <T>(
    ref: InstancetypeRef | undefined,
    what: 'instancetype' | 'preference',
  ): Promise<{ spec?: T } | { failure: { reason: string; message: string } } | undefined> => {
    if (!ref) return undefined;
    const at = lookupPath(ref, ns, what);
    const obj = await getLive<{ spec?: T }>(ctx.manager.rest, at.path);
    if (obj) return obj;
    const reason = what === 'instancetype' ? 'FailedFindInstancetype' : 'FailedFindPreference';
    return { failure: { reason, message: at.notFound } };
  };
  const it = await found<InstancetypeSpec>(vm.spec.instancetype, 'instancetype');
  const pref = await found<PreferenceSpec>(vm.spec.preference, 'preference');
  if (it && 'failure' in it) return it;
  if (pref && 'failure' in pref) return pref;
  const annotations = instancetypeAnnotations(vm.spec.instancetype, vm.spec.preference);
  if (!it?.spec) return { spec, annotations };
  const applied = applyInstancetype(spec, it.spec, pref?.spec);
  if (!applied.ok) return { failure: { reason: 'FailedCreate', message: applied.message } };
  return { spec: applied.spec, annotations };
}

/** KubeVirt's own finalizer on VMs: the VM stays until its instance is gone. */
export const VM_FINALIZER = VM_CONTROLLER_FINALIZER;

/** What virt-controller does: an instance from the VM's template, owned by the VM. */
async function createInstance(
  ctx: EngineContext,
  vm: KvVm,
  paused: boolean,
  expanded: Expanded,
): Promise<void> {
  const { namespace: ns = '', name = '' } = vm.metadata ?? {};
  const spec = { ...expanded.spec };
  // KubeVirt's default: a card on the pod network when the template names none.
  if (!spec.networks?.length && !spec.domain?.devices?.interfaces?.length) {
    spec.networks = [{ name: 'default', pod: {} }];
    spec.domain = {
      ...spec.domain,
      devices: { ...spec.domain?.devices, interfaces: [{ name: 'default', bridge: {} }] },
    };
  }
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
          annotations: {
            ...vm.spec.template?.metadata?.annotations,
            ...expanded.annotations,
            'kubevirt.io/vm-generation': String(vm.metadata?.generation ?? 1),
          },
          finalizers: [VM_CONTROLLER_FINALIZER, VMI_FINALIZER],
          ownerReferences: [ownerRef(vm)],
        },
        spec: { ...spec, ...(paused ? { startStrategy: 'Paused' } : {}) },
        status: {
          phase: 'Pending',
          phaseTransitionTimestamps: [
            {
              phase: 'Pending',
              phaseTransitionTimestamp: `${new Date().toISOString().slice(0, 19)}Z`,
            },
          ],
        },
      },
    },
  );
}

export async function deleteInstance(ctx: EngineContext, vmi: KvVmi): Promise<void> {
  const { namespace: ns = '', name = '' } = vmi.metadata ?? {};
  try {
    await ctx.manager.rest.request('DELETE', vmiPath(ns, name), {
      body: { preconditions: { uid: vmi.metadata?.uid } },
    });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/** A JSON patch of the VM's status, guarded by a test of the requests it read. */
async function patchRequests(ctx: EngineContext, vm: KvVm, next: unknown[]): Promise<void> {
  const { namespace: ns = '', name = '' } = vm.metadata ?? {};
  const current = vm.status?.stateChangeRequests;
  await ctx.manager.rest
    .request('PATCH', `${vmPath(ns, name)}/status`, {
      body: [
        ...(current ? [{ op: 'test', path: '/status/stateChangeRequests', value: current }] : []),
        next.length
          ? { op: current ? 'replace' : 'add', path: '/status/stateChangeRequests', value: next }
          : { op: 'remove', path: '/status/stateChangeRequests' },
      ],
      contentType: 'application/json-patch+json',
    })
    .catch((e) => {
      if (!isNotFound(e) && ![409, 422].includes((e as { code?: number }).code ?? 0)) throw e;
    });
}

async function act(
  ctx: EngineContext,
  vm: KvVm,
  vmi: KvVmi | undefined,
  a: VmAction,
  expanded: Expanded | undefined,
): Promise<void> {
  const requests = vm.status?.stateChangeRequests ?? [];
  const { namespace: ns = '', name = '' } = vm.metadata ?? {};
  switch (a.kind) {
    case 'createInstance':
      return expanded ? createInstance(ctx, vm, a.paused, expanded) : undefined;
    case 'deleteInstance':
      return vmi ? deleteInstance(ctx, vmi) : undefined;
    case 'trimRequest':
      return patchRequests(ctx, vm, requests.slice(1));
    case 'appendStart':
      return patchRequests(ctx, vm, [...requests, { action: 'Start' }]);
    case 'setAlways':
      await ctx.manager.rest.request('PATCH', vmPath(ns, name), {
        body:
          vm.spec.running !== undefined
            ? { spec: { running: true } }
            : { spec: { runStrategy: 'Always' } },
        contentType: 'application/merge-patch+json',
      });
  }
}

/** KubeVirt's VM finalizer, added while the VM lives and removed once its instance is gone. */
async function setFinalizer(ctx: EngineContext, vm: KvVm, present: boolean): Promise<void> {
  const list = vm.metadata?.finalizers ?? [];
  if (list.includes(VM_FINALIZER) === present) return;
  const next = present ? [...list, VM_FINALIZER] : list.filter((f) => f !== VM_FINALIZER);
  const { namespace: ns = '', name = '' } = vm.metadata ?? {};
  // Guarded by the resourceVersion: another writer's finalizers are never lost.
  await ctx.manager.rest
    .request('PATCH', vmPath(ns, name), {
      body: { metadata: { finalizers: next, resourceVersion: vm.metadata?.resourceVersion } },
      contentType: 'application/merge-patch+json',
    })
    .catch((e) => {
      if (!isNotFound(e) && (e as { code?: number }).code !== 409) throw e;
      ctx.manager.enqueue('local-engine', `${ns}/${name}`);
    });
}

/** The instance as the VM's side reads it. */
export function instanceView(vmi: KvVmi | undefined): InstanceView {
  if (!vmi) return { exists: false };
  const has = (type: string, reason?: string): boolean =>
    !!vmi.status?.conditions?.some(
      (c) =>
        c.type === type &&
        (reason ? c.status === 'False' && c.reason === reason : c.status === 'True'),
    );
  return {
    exists: true,
    ...(vmi.metadata?.uid ? { uid: vmi.metadata.uid } : {}),
    deleting: deletionOf(vmi),
    phase: vmi.status?.phase ?? 'Pending',
    paused: has('Paused'),
    claimMissing: has('Synchronized', 'FailedPvcNotFound'),
    unschedulable: has('PodScheduled', 'Unschedulable'),
    migrating:
      !!vmi.status?.migrationState?.startTimestamp && !vmi.status.migrationState.endTimestamp,
  };
}

type StartFailure = NonNullable<NonNullable<KvVm['status']>['startFailure']>;

/** startFailure as syncStartFailureStatus keeps it. */
function startFailure(vm: KvVm, vmi: KvVmi | undefined, now: number): StartFailure | undefined {
  const s = runStrategyOf(vm);
  const prev = vm.status?.startFailure;
  if (s === 'Manual' || s === 'Halted') return undefined;
  if (!vmi) return prev;
  const ran = vmi.status?.phaseTransitionTimestamps?.some((p) => p.phase === 'Running');
  if (ran) return undefined;
  const final = vmi.status?.phase === 'Succeeded' || vmi.status?.phase === 'Failed';
  if (!final || prev?.lastFailedVMIUID === vmi.metadata?.uid) return prev;
  const count = (prev?.consecutiveFailCount ?? 0) + 1;
  return {
    consecutiveFailCount: count,
    lastFailedVMIUID: vmi.metadata?.uid ?? '',
    retryAfterTimestamp: `${new Date(now + startBackoffMs(count)).toISOString().slice(0, 19)}Z`,
  };
}

/** The VM's conditions: Ready from the instance, the instance's others copied (syncConditions). */
function vmConditions(
  vm: KvVm,
  vmi: KvVmi | undefined,
  failure?: { reason: string; message: string },
): Condition[] {
  const skip = new Set(['Ready', 'Failure', 'RestartRequired']);
  const ready: Condition = !vmi
    ? { type: 'Ready', status: 'False', reason: 'VMINotExists', message: 'VMI does not exist' }
    : (vmi.status?.conditions?.find((c) => c.type === 'Ready') ?? {
        type: 'Ready',
        status: 'False',
        reason: 'VMIConditionMissing',
        message: 'VMI is missing the Ready condition',
      });
  // With no instance, the copied conditions stay as they were.
  const copied = (vmi ? (vmi.status?.conditions ?? []) : (vm.status?.conditions ?? [])).filter(
    (c) => !skip.has(c.type),
  );
  return [
    ready,
    ...copied,
    ...(failure ? [{ type: 'Failure', status: 'True' as const, ...failure }] : []),
  ];
}

/** The VM status fields this engine writes (others, like stateChangeRequests, are not its own). */
const OWNED = ['printableStatus', 'ready', 'created', 'conditions', 'startFailure', 'runStrategy'];

/** Writes the VM's status when it changed: an idle VM costs no write. */
async function writeVmStatus(
  ctx: EngineContext,
  vm: KvVm,
  status: Record<string, unknown>,
): Promise<void> {
  const current = vm.status ?? {};
  const gone = OWNED.filter((k) => k in current && !(k in status));
  if (isSubset(status, current) && !gone.length) return;
  const { namespace: ns = '', name = '' } = vm.metadata ?? {};
  await ctx.manager.rest
    .request('PATCH', `${vmPath(ns, name)}/status`, {
      body: { status: { ...Object.fromEntries(gone.map((k) => [k, null])), ...status } },
      contentType: 'application/merge-patch+json',
    })
    .catch((e) => {
      if (!isNotFound(e)) throw e;
    });
}

/** A VM being deleted: its instance goes, then its DataVolumes' files, then its finalizer. */
async function finishDeletion(ctx: EngineContext, vm: KvVm, vmi: KvVmi | undefined): Promise<void> {
  if (vmi) return;
  const ns = vm.metadata?.namespace ?? '';
  for (const t of vm.spec.dataVolumeTemplates ?? []) {
    const name = t.metadata?.name ?? '';
    rmSync(diskPath(ctx, templateDisk(vm.metadata?.uid ?? '', name)), { force: true });
    const dv = await getLive<DataVolume>(ctx.manager.rest, dvPath(ns, name));
    if (dv?.metadata?.uid && ownedBy(dv, vm))
      rmSync(diskPath(ctx, { kind: 'dataVolume', uid: dv.metadata.uid }), { force: true });
  }
  await setFinalizer(ctx, vm, false);
}

/** What the VM's side knows of the VM for its decisions. */
function vmView(
  vm: KvVm,
  dvs: Awaited<ReturnType<typeof syncDataVolumes>>,
  failed: StartFailure | undefined,
): VmView {
  const retryAt = failed?.retryAfterTimestamp ? Date.parse(failed.retryAfterTimestamp) : 0;
  return {
    runStrategy: runStrategyOf(vm),
    requests: vm.status?.stateChangeRequests ?? [],
    ...(vm.status?.runStrategy ? { lastRunStrategy: vm.status.runStrategy } : {}),
    failCount: failed?.consecutiveFailCount ?? 0,
    backoffLeftMs: Math.max(0, retryAt - Date.now()),
    dataVolumes: dvs.state,
    ...(dvs.failure ? { failure: dvs.failure } : {}),
  };
}

/** One pass of virt-controller for a VM. */
export async function reconcileVm(
  ctx: EngineContext,
  vm: KvVm,
  vmi: KvVmi | undefined,
): Promise<{ requeueAfterMs: number } | undefined> {
  // An instance not controlled by this VM is not the VM's (a VMI someone made by hand).
  const mine = vmi?.metadata?.ownerReferences?.some(
    (o) => o.controller && o.uid === vm.metadata?.uid,
  );
  const instance = mine ? vmi : undefined;
  const deleting = deletionOf(vm);
  if (deleting) {
    if (instance && !deletionOf(instance)) await deleteInstance(ctx, instance);
    await finishDeletion(ctx, vm, instance);
    return undefined;
  }
  await setFinalizer(ctx, vm, true);
  const expanded = await expand(ctx, vm);
  const dvs = await syncDataVolumes(ctx, vm);
  const failure = 'failure' in expanded ? expanded.failure : dvs.failure;
  const failed = startFailure(vm, instance, Date.now());
  const view = vmView(vm, { ...dvs, ...(failure ? { failure } : {}) }, failed);
  const iv = instanceView(instance);
  // A VM whose instance type is missing makes no instance (its Failure says why); it may still
  // drop requests and delete one.
  const template = 'failure' in expanded ? undefined : expanded;
  for (const a of vmActions(view, iv)) await act(ctx, vm, instance, a, template);
  const created = iv.exists;
  await writeVmStatus(ctx, vm, {
    printableStatus: printableStatus(view, iv),
    ...(created &&
    instance?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
      ? { ready: true }
      : {}),
    ...(created ? { created: true } : {}),
    conditions: vmConditions(vm, instance, failure),
    ...(failed ? { startFailure: failed } : {}),
    ...(created || vm.status?.runStrategy ? { runStrategy: view.runStrategy } : {}),
  });
  if (view.backoffLeftMs) return { requeueAfterMs: view.backoffLeftMs };
  return dvs.state === 'provisioning' ? { requeueAfterMs: 500 } : undefined;
}
