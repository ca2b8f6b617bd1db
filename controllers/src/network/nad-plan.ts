// What NetworkAttachmentDefinitions one Network needs: one named after it in every namespace
// whose VMs use it (and that its namespaceSelector admits), with Multus's bridge CNI
// configuration; vmplane's own (label managed-by, annotation naming the Network) that are no
// longer needed go; a definition of that name vmplane does not own is left alone and reported.
import { matchesSelector } from '../../../api/src/selectors.ts';
import { Labels, MANAGER } from '../../../api/src/wellknown.ts';
import { bridgeOf, isL2, NETWORK_API_VERSION, type NetworkLike } from './types.ts';

export const NAD_API_VERSION = 'k8s.cni.cncf.io/v1';
export const NADS_PATH = '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions';
export const nadCollection = (namespace: string): string =>
  `/apis/k8s.cni.cncf.io/v1/namespaces/${namespace}/network-attachment-definitions`;
/** On a definition vmplane wrote: the Network it was written for. */
export const NETWORK_ANNOTATION = 'vmplane.io/network';

export interface Nad {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: object[];
  };
  spec?: { config?: string };
}

/** What a VM contributes: its namespace and the networks its interfaces name. */
export interface VmNetworks {
  namespace: string;
  networks: string[];
}

export interface NadPlanInput {
  /** The Network's name, and the Network (absent: deleted). */
  name: string;
  network: NetworkLike | undefined;
  vms: readonly VmNetworks[];
  /** Labels of each namespace, for the namespaceSelector (absent: the namespace is unknown). */
  namespaceLabels: (namespace: string) => Record<string, string> | undefined;
  /** Definitions named after the Network or annotated with it, in any namespace. */
  existing: readonly Nad[];
}

export interface NadPlan {
  /** Definitions to create, or (when `current` is set) to update to this content. */
  write: { desired: Nad; current?: Nad }[];
  remove: Nad[];
  /** Definitions of this name vmplane does not own, in namespaces that need one. */
  foreign: Nad[];
  /** Namespaces where VMs use the network but its namespaceSelector does not admit them. */
  refused: string[];
  /** Namespaces with vmplane's definition once the plan is done (Network status.namespaces). */
  namespaces: string[];
}

/** The CNI configuration, exactly: bridge plugin, VLAN when set, no IPAM (the guest or vmplane's pool addresses). */
export function cniConfig(n: NetworkLike): string {
  const vlan = n.spec.l2?.vlanID;
  return JSON.stringify({
    cniVersion: '0.3.1',
    name: n.metadata.name ?? '',
    type: 'bridge',
    bridge: bridgeOf(n),
    ...(vlan !== undefined ? { vlan } : {}),
    ipam: {},
  });
}

export function desiredNad(n: NetworkLike, namespace: string): Nad {
  const name = n.metadata.name ?? '';
  return {
    apiVersion: NAD_API_VERSION,
    kind: 'NetworkAttachmentDefinition',
    metadata: {
      name,
      namespace,
      labels: { [Labels.managedBy]: MANAGER },
      annotations: { [NETWORK_ANNOTATION]: name },
      // Garbage collection removes them too if the Network goes while vmplane is down.
      ...(n.metadata.uid
        ? {
            ownerReferences: [
              { apiVersion: NETWORK_API_VERSION, kind: 'Network', name, uid: n.metadata.uid },
            ],
          }
        : {}),
    },
    spec: { config: cniConfig(n) },
  };
}

/** Whether vmplane wrote this definition for the Network `name`. */
export function isOwnNad(nad: Nad, name: string): boolean {
  return (
    nad.metadata.labels?.[Labels.managedBy] === MANAGER &&
    nad.metadata.annotations?.[NETWORK_ANNOTATION] === name
  );
}

/** The namespaces (sorted) whose VMs use the network and that the network admits. */
function usingNamespaces(input: NadPlanInput): { using: string[]; refused: string[] } {
  const all = new Set(
    input.vms.filter((v) => v.networks.includes(input.name)).map((v) => v.namespace),
  );
  const using: string[] = [];
  const refused: string[] = [];
  for (const ns of [...all].sort()) {
    const labels = input.namespaceLabels(ns);
    const admitted = !!labels && matchesSelector(input.network?.spec.namespaceSelector, labels);
    (admitted ? using : refused).push(ns);
  }
  return { using, refused };
}

export function planNads(input: NadPlanInput): NadPlan {
  const network = isL2(input.network) ? input.network : undefined;
  const { using, refused } = network ? usingNamespaces(input) : { using: [], refused: [] };
  const plan: NadPlan = { write: [], remove: [], foreign: [], refused, namespaces: [] };
  const inNamespace = (ns: string): Nad | undefined =>
    input.existing.find((n) => n.metadata.namespace === ns && n.metadata.name === input.name);
  for (const ns of using) {
    const desired = desiredNad(network as NetworkLike, ns);
    const current = inNamespace(ns);
    if (current && !isOwnNad(current, input.name)) {
      plan.foreign.push(current);
      continue;
    }
    plan.namespaces.push(ns);
    if (!current) plan.write.push({ desired });
    else if (current.spec?.config !== desired.spec?.config) plan.write.push({ desired, current });
  }
  for (const nad of input.existing)
    if (
      nad.metadata.name === input.name &&
      isOwnNad(nad, input.name) &&
      !plan.namespaces.includes(nad.metadata.namespace ?? '')
    )
      plan.remove.push(nad);
  return plan;
}
