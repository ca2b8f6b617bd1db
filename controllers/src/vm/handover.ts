// Handing a VM over to KubeVirt: its translation written as the kubevirt.io VirtualMachine (created
// when there is none, updated only when it is this VM's and differs), the pause subresource called
// for Suspended, and what KubeVirt's objects say read back. A running VM keeps the class it
// started with until its next power cycle. A namesake that is not the VM's, or a refusal by the
// API server, is said in a check and a Warning Event; nothing is forced.
import type { KubernetesObject } from '@kubernetes/client-node';
import type {
  V1VirtualMachine,
  V1VirtualMachineInstance,
} from '@kubevirt-ui-ext/kubevirt-api/kubevirt';
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { ApiError } from '../../../kube/src/rest.ts';
import { isSubset } from '../../../kube/src/objects.ts';
import {
  createOnly,
  describeForeign,
  getLive,
  isControlledBy,
  isCurrent,
  StaleCache,
} from '../../../kube/src/ownership.ts';
import { API_VERSION, DEFAULT_RESERVATION, Reasons } from '../../../api/src/wellknown.ts';
import type { Check } from '../../../decisions/src/check.ts';
import { fail, ok } from '../../../decisions/src/check.ts';
import { kvCollection, vmPath, type VmContext } from './context.ts';
import type { Resolution } from './resolve.ts';
import { isRunning } from './status.ts';
import { effectiveClassOf, translate, type EffectiveClass } from './translate.ts';

/** The engine's side after syncing: its objects, the class applied, and a power action that failed. */
export interface EngineView {
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

async function setPause(
  context: VmContext,
  vm: VirtualMachine,
  vmi: V1VirtualMachineInstance | undefined,
  kv: V1VirtualMachine | undefined,
): Promise<Check | undefined> {
  if (!vmi) return undefined;
  const paused =
    kv?.status?.printableStatus === 'Paused' ||
    vmi.status?.conditions?.some(
      (condition) => condition.type === 'Paused' && condition.status === 'True',
    );
  const want = vm.spec.powerState === 'Suspended';
  if (want === !!paused) return undefined;
  const verb = want ? 'pause' : 'unpause';
  try {
    await context.manager.rest.request(
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
  context: VmContext,
  desired: V1VirtualMachine,
  kv: V1VirtualMachine | undefined,
  uid: string | undefined,
): Promise<{ kv?: V1VirtualMachine; foreign?: V1VirtualMachine }> {
  const rest = context.manager.rest;
  const ns = desired.metadata?.namespace ?? '';
  if (!kv) {
    if (!(await isCurrent(rest, vmPath(ns, desired.metadata?.name ?? ''), uid)))
      throw new StaleCache(`VirtualMachine ${ns}/${desired.metadata?.name}`);
    const result = await createOnly(
      rest,
      kvCollection(ns),
      desired as KubernetesObject,
      'vmplane-controller',
    );
    if ('created' in result) return { kv: result.created as V1VirtualMachine };
    kv = result.exists as V1VirtualMachine | undefined;
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
    kv: await rest.apply<V1VirtualMachine>(withPrecondition as never, {
      fieldManager: 'vmplane-controller',
    }),
  };
}

/** A failed check the user must see: a Warning Event on the VM, and the check that says the same. */
async function warning(
  context: VmContext,
  vm: VirtualMachine,
  reason: string,
  message: string,
): Promise<Check> {
  await context.manager.event(
    { apiVersion: API_VERSION, kind: 'VirtualMachine', metadata: vm.metadata } as KubernetesObject,
    'Warning',
    reason,
    message,
  );
  return fail(reason, message);
}

/** A KubeVirt VM of this name that is not this VM's: said in EngineAvailable and in an Event. */
async function nameInUse(
  context: VmContext,
  vm: VirtualMachine,
  foreign: V1VirtualMachine,
): Promise<Check> {
  const message = `${describeForeign('KubeVirt VirtualMachine', foreign as KubernetesObject)} already has this name; vmplane leaves it alone: rename this VM or remove that one`;
  return warning(context, vm, Reasons.NameInUse, message);
}

/** Hands the translation to KubeVirt when it differs from what runs, and pauses or resumes. */
export async function syncEngine(
  context: VmContext,
  vm: VirtualMachine,
  namespace: string,
  name: string,
  resolution: Resolution,
): Promise<EngineView> {
  let kv = resolution.engine
    ? (context.kvVms.get(name, namespace) as V1VirtualMachine | undefined)
    : undefined;
  if (kv && !isControlledBy(kv as KubernetesObject, vm.metadata.uid)) {
    // The cache may hold a namesake deleted a moment ago: ask the API server before saying so.
    kv = await getLive<V1VirtualMachine & KubernetesObject>(
      context.manager.rest,
      `${kvCollection(namespace)}/${name}`,
    );
    if (kv && !isControlledBy(kv as KubernetesObject, vm.metadata.uid))
      return { foreignCheck: await nameInUse(context, vm, kv) };
  }
  const vmi = resolution.engine
    ? (context.kvVmis.get(name, namespace) as V1VirtualMachineInstance | undefined)
    : undefined;
  const current = resolution.klass ? effectiveClassOf(resolution.klass) : undefined;
  const applied = appliedClass(vm, isRunning(kv, vmi), current);
  const view: EngineView = {
    ...(kv ? { kv } : {}),
    ...(vmi ? { vmi } : {}),
    ...(applied ? { applied } : {}),
    ...(current ? { current } : {}),
  };
  // A class whose devices KubeVirt does not permit is not handed over: KubeVirt would refuse it,
  // or the VM would never schedule.
  const devicesRefused = resolution.classCheck.reason === Reasons.DevicesNotPermitted;
  if (
    !resolution.engine ||
    !applied ||
    !resolution.imageCheck.ok ||
    resolution.unclaimed ||
    devicesRefused
  )
    return view;
  return handOver(context, vm, resolution, view, applied);
}

/** Writes the translation (when it differs) and pauses or resumes; a refusal is said, not retried at once. */
async function handOver(
  context: VmContext,
  vm: VirtualMachine,
  resolution: Resolution,
  view: EngineView,
  applied: EffectiveClass,
): Promise<EngineView> {
  const desired = translate({
    vm,
    vmClass: applied,
    ...(resolution.image ? { image: resolution.image } : {}),
    disks: resolution.referenced,
    networks: resolution.networks,
    ...(context.options ? { options: context.options } : {}),
  });
  let written: Awaited<ReturnType<typeof writeEngineVm>>;
  try {
    written = await writeEngineVm(context, desired, view.kv, vm.metadata.uid);
  } catch (e) {
    if (!isRefusal(e)) throw e;
    return { ...view, acceptedCheck: await engineRefused(context, vm, e as ApiError) };
  }
  if (written.foreign) return { foreignCheck: await nameInUse(context, vm, written.foreign) };
  const kv = written.kv;
  const powerCheck = await setPause(context, vm, view.vmi, kv);
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
async function engineRefused(context: VmContext, vm: VirtualMachine, e: ApiError): Promise<Check> {
  const said = e.message.replace(/^HTTP \d+: /, '');
  const message = `the API server refused the KubeVirt VirtualMachine vmplane made for this VM (HTTP ${e.code}): ${said}`;
  return warning(context, vm, Reasons.EngineRefused, message);
}
