// VirtualMachineService controller: writes the Service and EndpointSlices plan.ts decides, and
// copies the Service's addresses back into status. A Service or EndpointSlice of that name that is
// not this VirtualMachineService's (controlling owner reference by UID) is left alone: status says
// so (Ready=False, NameInUse) and nothing is written over it. The Service and slices carry an
// owner reference, so deleting the VirtualMachineService removes them (garbage collection).
import type { KubernetesObject, V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { VirtualMachine, VirtualMachineService } from '../../../api/generated/types.ts';
import { Reasons } from '../../../api/src/wellknown.ts';
import { withTransitionTime } from '../../../kube/src/conditions.ts';
import type { ControllerDefinition, Manager } from '../../../kube/src/manager.ts';
import { objectKey, splitKey } from '../../../kube/src/manager.ts';
import { isSubset, writeStatus } from '../../../kube/src/objects.ts';
import {
  createOnly,
  deleteExactly,
  describeForeign,
  getLive,
  isControlledBy,
} from '../../../kube/src/ownership.ts';
import { PATHS } from '../vm/context.ts';
import {
  desiredService,
  desiredSlices,
  serviceStatus,
  SLICE_MANAGED_BY_LABEL,
  SLICE_MANAGER,
  VM_SERVICE_LABEL,
} from './plan.ts';

export const VM_SERVICES = '/apis/vmplane.io/v1alpha1/virtualmachineservices';
const SERVICES = '/api/v1/services';
const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';
const SLICE_SELECTOR = `${SLICE_MANAGED_BY_LABEL}=${SLICE_MANAGER}`;
const FIELD_MANAGER = 'vmplane-controller';
const services = (ns: string): string => `/api/v1/namespaces/${ns}/services`;
const slices = (ns: string): string => `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;

type Cache = ReturnType<Manager['informer']>;
interface Context {
  manager: Manager;
  vmServices: Cache;
  vms: Cache;
  services: Cache;
  slices: Cache;
}

type Problem = { reason: string; message: string } | undefined;

/** Whether `live` has everything `desired` sets (an empty list the API server left out counts). */
function matches(desired: KubernetesObject, live: KubernetesObject): boolean {
  const { apiVersion: _a, kind: _k, metadata, ...body } = desired as Record<string, unknown>;
  const have = live as Record<string, unknown>;
  return (
    Object.entries(body).every(([k, v]) =>
      Array.isArray(v) && !v.length
        ? !(have[k] as unknown[] | undefined)?.length
        : isSubset(v, have[k]),
    ) &&
    isSubset((metadata as KubernetesObject['metadata'])?.labels ?? {}, live.metadata?.labels ?? {})
  );
}

/**
 * Makes the object at `collection/name` match `desired`: created when absent, applied when it is
 * ours and differs. A foreign one comes back as a problem, untouched.
 */
async function sync<T extends KubernetesObject>(
  c: Context,
  cache: Cache,
  collection: string,
  desired: T,
  uid: string | undefined,
  kind: string,
): Promise<{ live?: T; problem?: Problem }> {
  const { name = '', namespace = '' } = desired.metadata ?? {};
  let live = cache.get(name, namespace) as T | undefined;
  if (!live || !isControlledBy(live, uid))
    live = await getLive<T>(c.manager.rest, `${collection}/${name}`);
  if (!live) {
    const made = await createOnly(c.manager.rest, collection, desired, FIELD_MANAGER);
    live = 'created' in made ? made.created : made.exists;
  }
  if (live && !isControlledBy(live, uid))
    return {
      problem: {
        reason: Reasons.NameInUse,
        message: `${describeForeign(kind, live)} has the name vmplane needs; vmplane leaves it alone: rename this VirtualMachineService or remove that ${kind}`,
      },
    };
  const same = !!live && matches(desired, live);
  if (live && same) return { live };
  const withPrecondition = {
    ...desired,
    metadata: { ...desired.metadata, resourceVersion: live?.metadata?.resourceVersion },
  };
  // A replace, not an apply: fields vmplane no longer sets (a port taken out) must go. The API
  // server keeps what it allocated (cluster IPs, node ports left unset) across a Service update.
  const { body } = await c.manager.rest.request<T>(
    'PUT',
    `${collection}/${name}?fieldManager=${FIELD_MANAGER}`,
    { body: withPrecondition },
  );
  return { live: body };
}

/** The slices vmplane wrote for this service beyond those it needs now: deleted by UID. */
async function pruneSlices(c: Context, svc: VirtualMachineService, keep: string[]): Promise<void> {
  for (const s of c.slices.list() as V1EndpointSlice[])
    if (
      s.metadata?.namespace === svc.metadata.namespace &&
      s.metadata?.labels?.[VM_SERVICE_LABEL] === svc.metadata.name &&
      isControlledBy(s as KubernetesObject, svc.metadata.uid) &&
      !keep.includes(s.metadata?.name ?? '')
    )
      await deleteExactly(
        c.manager.rest,
        `${slices(svc.metadata.namespace ?? '')}/${s.metadata?.name}`,
        s.metadata?.uid,
      );
}

async function reconcile(c: Context, key: string): Promise<void> {
  const { namespace = '', name } = splitKey(key);
  const svc = c.vmServices.get(name, namespace) as VirtualMachineService | undefined;
  if (!svc || (svc.metadata as { deletionTimestamp?: string }).deletionTimestamp) return;
  const uid = svc.metadata.uid;
  const service = await sync<V1Service & KubernetesObject>(
    c,
    c.services,
    services(namespace),
    desiredService(svc) as V1Service & KubernetesObject,
    uid,
    'Service',
  );
  let problem = service.problem;
  const wanted = desiredSlices(svc, c.vms.list() as VirtualMachine[]);
  if (!problem) {
    for (const slice of wanted) {
      const r = await sync(
        c,
        c.slices,
        slices(namespace),
        slice as KubernetesObject,
        uid,
        'EndpointSlice',
      );
      problem ??= r.problem;
    }
    await pruneSlices(
      c,
      svc,
      wanted.map((s) => s.metadata?.name ?? ''),
    );
  }
  const { condition, ...status } = serviceStatus(svc, service.live, wanted, problem);
  const ready = withTransitionTime(
    svc.status?.conditions,
    { type: 'Ready', observedGeneration: svc.metadata.generation ?? 0, ...condition },
    new Date().toISOString(),
  );
  await writeStatus(
    c.manager.rest,
    `/apis/vmplane.io/v1alpha1/namespaces/${namespace}/virtualmachineservices/${name}`,
    svc.status,
    {
      ...status,
      conditions: [ready],
    },
  );
}

export function vmServiceController(manager: Manager): ControllerDefinition {
  const c: Context = {
    manager,
    vmServices: manager.informer(VM_SERVICES),
    vms: manager.informer(PATHS.vms),
    services: manager.informer(SERVICES, { labelSelector: VM_SERVICE_LABEL }),
    slices: manager.informer(SLICES, { labelSelector: SLICE_SELECTOR }),
  };
  const inNamespace = (ns: string | undefined): string[] =>
    c.vmServices
      .list()
      .filter((s) => s.metadata?.namespace === ns && manager.inScope(s))
      .map(objectKey);
  const byLabel = (o: KubernetesObject): string[] => {
    const n = o.metadata?.labels?.[VM_SERVICE_LABEL];
    return n && manager.inScope(o) ? [`${o.metadata?.namespace}/${n}`] : [];
  };
  return {
    name: 'virtualmachineservice',
    watches: [
      { path: VM_SERVICES, keys: (o) => (manager.inScope(o) ? [objectKey(o)] : []) },
      // Any VM change may add it to or take it from a service of its namespace.
      { path: PATHS.vms, keys: (o) => inNamespace(o.metadata?.namespace) },
      { path: SERVICES, labelSelector: VM_SERVICE_LABEL, keys: byLabel },
      { path: SLICES, labelSelector: SLICE_SELECTOR, keys: byLabel },
    ],
    allKeys: () =>
      c.vmServices
        .list()
        .filter((s) => manager.inScope(s))
        .map(objectKey),
    reconcile: (key) => reconcile(c, key),
  };
}
