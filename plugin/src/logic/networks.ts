// What the plugin shows of networks: the Networks list's columns and the create wizard's network
// choices (the Networks whose namespaceSelector selects the namespace; the pod network is always
// there). The rows themselves are api/src/network-view.ts's, shared with kubectl vm.
import {
  namespaceMayUse,
  networkCidr,
  networkType,
  type NetworkView,
} from '../../../api/src/network-view.ts';

export {
  interfaceRows,
  networkRow,
  selectorText,
  type InterfaceRow,
  type NetworkView,
} from '../../../api/src/network-view.ts';

/** A Network the wizard offers as the VM's second interface. */
export interface NetworkChoice {
  name: string;
  /** "vlan100 — L2, VLAN 100, 192.168.100.0/24, 249 of 252 addresses free" */
  label: string;
  /** A static pool with no address left: shown, not choosable (admission would refuse it). */
  full: boolean;
}

function describeNetwork(n: NetworkView): string {
  const pool = n.spec?.ipam?.staticPool ? n.status?.pool : undefined;
  const parts = [
    networkType(n),
    n.spec?.l2?.vlanID === undefined ? '' : `VLAN ${n.spec.l2.vlanID}`,
    networkCidr(n),
    pool?.free === undefined
      ? ''
      : `${pool.free}${pool.size === undefined ? '' : ` of ${pool.size}`} addresses free`,
  ].filter(Boolean);
  return `${n.metadata.name ?? ''} — ${parts.join(', ')}`;
}

/**
 * The L2 Networks a VM in a namespace with these labels may use, by name. A Network of type Pod
 * is the pod network every VM has already, so it is not offered again.
 */
export function networkChoices(
  networks: readonly NetworkView[],
  namespaceLabels: Record<string, string> | undefined
): NetworkChoice[] {
  return networks
    .filter(n => networkType(n) === 'L2' && namespaceMayUse(n, namespaceLabels ?? {}))
    .map(n => ({
      name: n.metadata.name ?? '',
      label: describeNetwork(n),
      full: !!n.spec?.ipam?.staticPool && n.status?.pool?.free === 0,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The interfaces of a VM the wizard makes: none written (one on the pod network) without an
 * extra network; with one, the pod network first (port-forward, ssh and services go through
 * it) and the chosen Network second, its MAC and address left to admission.
 */
export function wizardInterfaces(network: string): { name: string; network?: string }[] {
  return network ? [{ name: 'default' }, { name: 'nic1', network }] : [];
}
