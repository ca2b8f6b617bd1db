// Networks and VM interfaces as people read them, the same in `kubectl vm` and the plugin: a
// Network's row (type, VLAN, CIDR, pool usage, who may use it), whether a namespace may use it,
// and one row per VM interface (network, MAC, the allocated IP, the IPs the guest was seen with).
// Pure. The shapes are the fields these views read of Network and VirtualMachine, so they work on
// any object the API server returns.
import { matchesSelector, type LabelSelector } from './selectors.ts';

/** The fields of a Network (vmplane.io/v1alpha1, cluster-scoped) that the views read. */
export interface NetworkView {
  metadata: { name?: string; creationTimestamp?: string | Date };
  spec?: {
    type?: 'Pod' | 'L2';
    l2?: { nodeInterface?: string; bridge?: string; vlanID?: number };
    ipam?: {
      externalDHCP?: object;
      staticPool?: { cidr?: string; gateway?: string };
    };
    namespaceSelector?: LabelSelector;
  };
  status?: {
    pool?: { size?: number; allocated?: number; free?: number };
    namespaces?: string[];
  };
}

/** The name the views give the pod network, which is no Network object. */
export const POD_NETWORK = 'pod';

/** Pod or L2; L2 when unset, as the API defaults it. */
export const networkType = (n: NetworkView): 'Pod' | 'L2' => n.spec?.type ?? 'L2';

/** The addresses a network gives: the static pool's CIDR, `DHCP` (external), or empty. */
export function networkCidr(n: NetworkView): string {
  const ipam = n.spec?.ipam;
  if (ipam?.staticPool?.cidr) return ipam.staticPool.cidr;
  if (ipam?.externalDHCP) return 'DHCP';
  return '';
}

/** A label selector as kubectl prints one: `a=b,c in (x,y),d notin (z),e,!f`; `all` for none. */
export function selectorText(selector: LabelSelector | undefined): string {
  const parts = [
    ...Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(selector?.matchExpressions ?? []).map((e) => {
      const values = (e.values ?? []).join(',');
      if (e.operator === 'In') return `${e.key} in (${values})`;
      if (e.operator === 'NotIn') return `${e.key} notin (${values})`;
      if (e.operator === 'Exists') return e.key;
      return `!${e.key}`;
    }),
  ];
  return parts.length ? parts.join(',') : 'all';
}

/** Whether a namespace with these labels may use the network (no selector: every namespace). */
export const namespaceMayUse = (n: NetworkView, namespaceLabels: Record<string, string>): boolean =>
  matchesSelector(n.spec?.namespaceSelector, namespaceLabels);

/** The columns of a Network's row, after its name. */
export const NETWORK_COLUMNS = ['TYPE', 'VLAN', 'CIDR', 'ALLOCATED', 'FREE', 'NAMESPACES'] as const;

/** A Network's row: type, VLAN, CIDR, allocated and free addresses (static pools), namespaces. */
export function networkRow(n: NetworkView): string[] {
  const pool = n.spec?.ipam?.staticPool ? n.status?.pool : undefined;
  const count = (x: number | undefined): string => (x === undefined ? '' : String(x));
  return [
    networkType(n),
    n.spec?.l2?.vlanID === undefined ? '' : String(n.spec.l2.vlanID),
    networkCidr(n),
    count(pool?.allocated),
    count(pool?.free),
    selectorText(n.spec?.namespaceSelector),
  ];
}

/** The fields of a VirtualMachine that the interface rows read. */
export interface VmInterfacesView {
  spec: {
    network?: {
      interfaces?: { name: string; network?: string; macAddress?: string; ipAddress?: string }[];
    };
  };
  status?: {
    interfaces?: {
      name?: string;
      network?: string;
      macAddress?: string;
      ipAddress?: string;
      ipAddresses?: string[];
    }[];
  };
}

/** One VM interface as the views show it. */
export interface InterfaceRow {
  name: string;
  network: string;
  mac: string;
  /** The address vmplane allocated (static pool); empty when the network's DHCP or pod gives it. */
  ip: string;
  /** The addresses the engine saw the guest use on it, comma-separated. */
  observed: string;
}

/**
 * One row per interface of the spec (one `default` on the pod network when it names none, as the
 * translation does), with what status says of it matched by name.
 */
export function interfaceRows(vm: VmInterfacesView): InterfaceRow[] {
  const spec = vm.spec.network?.interfaces?.length
    ? vm.spec.network.interfaces
    : [
        { name: 'default' } as {
          name: string;
          network?: string;
          macAddress?: string;
          ipAddress?: string;
        },
      ];
  return spec.map((i) => {
    const s = vm.status?.interfaces?.find((x) => x.name === i.name);
    return {
      name: i.name,
      network: s?.network ?? i.network ?? POD_NETWORK,
      mac: s?.macAddress ?? i.macAddress ?? '',
      ip: s?.ipAddress ?? i.ipAddress ?? '',
      observed: (s?.ipAddresses ?? []).join(','),
    };
  });
}
