// NetworkAttachmentDefinition controller: keeps, for each L2 Network, the definitions Multus
// needs in the namespaces whose VMs use it (nad-plan.ts decides), and says in the Network's
// status.namespaces where they are. A definition of that name vmplane does not own is never
// written over or deleted: the VMs that would use it get a Warning Event saying so. Keys are
// Network names; a deleted Network's definitions are removed by name.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { VirtualMachine } from '../../../api/generated/types.ts';
import { API_VERSION, Selectors } from '../../../api/src/wellknown.ts';
import type { ControllerDefinition, Manager } from '../../../kube/src/manager.ts';
import { writeStatus } from '../../../kube/src/objects.ts';
import {
  createOnly,
  deleteExactly,
  describeForeign,
  getLive,
} from '../../../kube/src/ownership.ts';
import { PATHS } from '../vm/context.ts';
import {
  isOwnNad,
  NADS_PATH,
  nadCollection,
  NETWORK_ANNOTATION,
  planNads,
  type Nad,
  type NadPlan,
  type VmNetworks,
} from './nad-plan.ts';
import { NETWORKS_PATH, type NetworkLike } from './types.ts';

const NAMESPACES = '/api/v1/namespaces';
const FIELD_MANAGER = 'vmplane-controller';

type Obj<T> = T & KubernetesObject;

interface NadContext {
  manager: Manager;
  networks: ReturnType<Manager['informer']>;
  vms: ReturnType<Manager['informer']>;
  namespaces: ReturnType<Manager['informer']>;
  nads: ReturnType<Manager['informer']>;
}

const networksOfVm = (vm: VirtualMachine): string[] =>
  (vm.spec.network?.interfaces ?? []).flatMap((i) => (i.network ? [i.network] : []));

function vmsInScope(c: NadContext): VirtualMachine[] {
  return (c.vms.list() as Obj<VirtualMachine>[]).filter((v) => c.manager.inScope(v));
}

/** Definitions named after the Network: vmplane's from the cache; where VMs need one and the cache has none, read live (a foreign one is not cached). */
async function existingNads(c: NadContext, name: string, using: string[]): Promise<Nad[]> {
  const own = (c.nads.list() as Obj<Nad>[]).filter(
    (n) => c.manager.inScope(n) && isOwnNad(n, name) && n.metadata.name === name,
  );
  const found: Nad[] = [...own];
  for (const ns of using) {
    if (own.some((n) => n.metadata.namespace === ns)) continue;
    const live = await getLive<Nad>(c.manager.rest, `${nadCollection(ns)}/${name}`);
    if (live) found.push(live);
  }
  return found;
}

async function warnVms(
  c: NadContext,
  vms: VirtualMachine[],
  namespace: string,
  network: string,
  reason: string,
  message: string,
): Promise<void> {
  for (const vm of vms)
    if (vm.metadata.namespace === namespace && networksOfVm(vm).includes(network))
      await c.manager.event(
        {
          apiVersion: API_VERSION,
          kind: 'VirtualMachine',
          metadata: vm.metadata,
        } as KubernetesObject,
        'Warning',
        reason,
        message,
      );
}

/** Carries out the plan: creates, updates (with the resourceVersion read) and deletes (by UID). */
async function apply(c: NadContext, plan: NadPlan): Promise<void> {
  const rest = c.manager.rest;
  for (const { desired, current } of plan.write) {
    const ns = desired.metadata.namespace ?? '';
    if (!current) {
      await createOnly(rest, nadCollection(ns), desired as KubernetesObject, FIELD_MANAGER);
      continue;
    }
    await rest.request('PUT', `${nadCollection(ns)}/${desired.metadata.name}`, {
      body: {
        ...desired,
        metadata: { ...desired.metadata, resourceVersion: current.metadata.resourceVersion },
      },
    });
  }
  for (const nad of plan.remove)
    await deleteExactly(
      rest,
      `${nadCollection(nad.metadata.namespace ?? '')}/${nad.metadata.name}`,
      nad.metadata.uid,
    );
}

async function reconcile(c: NadContext, name: string): Promise<void> {
  const network = c.networks.get(name) as Obj<NetworkLike> | undefined;
  const vms = vmsInScope(c);
  const vmNetworks: VmNetworks[] = vms.map((v) => ({
    namespace: v.metadata.namespace ?? '',
    networks: networksOfVm(v),
  }));
  const using = [
    ...new Set(vmNetworks.filter((v) => v.networks.includes(name)).map((v) => v.namespace)),
  ];
  const plan = planNads({
    name,
    network,
    vms: vmNetworks,
    namespaceLabels: (ns) => {
      const o = c.namespaces.get(ns);
      return o ? (o.metadata?.labels ?? {}) : undefined;
    },
    existing: await existingNads(c, name, network ? using : []),
  });
  await apply(c, plan);
  for (const foreign of plan.foreign)
    await warnVms(
      c,
      vms,
      foreign.metadata.namespace ?? '',
      name,
      'NetworkAttachmentDefinitionInUse',
      `${describeForeign('NetworkAttachmentDefinition', foreign as KubernetesObject)} has the name of Network ${name}; vmplane leaves it alone, and Multus attaches this VM with that definition's configuration: rename or remove it so vmplane can write its own`,
    );
  for (const ns of plan.refused)
    await warnVms(
      c,
      vms,
      ns,
      name,
      'NetworkNotAllowed',
      `Network ${name} does not admit namespace ${ns} (its spec.namespaceSelector): no NetworkAttachmentDefinition is written there`,
    );
  if (network && c.manager.inScope(network))
    await writeStatus(
      c.manager.rest,
      `${NETWORKS_PATH}/${name}`,
      { namespaces: network.status?.namespaces },
      { namespaces: plan.namespaces },
    );
}

export function nadController(manager: Manager): ControllerDefinition {
  const c: NadContext = {
    manager,
    networks: manager.informer(NETWORKS_PATH, { optional: true }),
    vms: manager.informer(PATHS.vms),
    namespaces: manager.informer(NAMESPACES),
    nads: manager.informer(NADS_PATH, { optional: true, labelSelector: Selectors.managed }),
  };
  const all = (): string[] => {
    const names = new Set<string>();
    for (const n of c.networks.list()) if (manager.inScope(n)) names.add(n.metadata?.name ?? '');
    for (const n of c.nads.list())
      if (manager.inScope(n)) names.add(n.metadata?.annotations?.[NETWORK_ANNOTATION] ?? '');
    return [...names].filter(Boolean);
  };
  return {
    name: 'networkattachmentdefinition',
    watches: [
      { path: NETWORKS_PATH, keys: (o) => (manager.inScope(o) ? [o.metadata?.name ?? ''] : []) },
      {
        path: PATHS.vms,
        // The VM's networks, and those vmplane wrote definitions for in its namespace (an
        // interface moved to another network may leave one unused).
        keys: (o) =>
          manager.inScope(o)
            ? [
                ...networksOfVm(o as Obj<VirtualMachine>),
                ...c.nads
                  .list()
                  .filter((n) => n.metadata?.namespace === o.metadata?.namespace)
                  .map((n) => n.metadata?.annotations?.[NETWORK_ANNOTATION] ?? ''),
              ]
            : [],
      },
      { path: NAMESPACES, keys: () => all() },
      {
        path: NADS_PATH,
        labelSelector: Selectors.managed,
        keys: (o) => [o.metadata?.annotations?.[NETWORK_ANNOTATION] ?? ''],
      },
    ],
    allKeys: all,
    reconcile: (name) => reconcile(c, name),
  };
}
