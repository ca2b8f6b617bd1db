// Pure decisions of address admission: which interfaces of a VM need claims, whose a claim found in
// the way is, and the denials, each naming the field, the value and what is accepted.
import type { Network, NetworkAddress, VirtualMachine } from '../../api/generated/types.ts';
import { matchesSelector, type LabelSelector } from '../../api/src/selectors.ts';
import type { Denial } from './vm.ts';
import { describeRanges, inPool, normalizeMac, type StaticPool } from './network-pool.ts';

export type Interface = NonNullable<
  NonNullable<VirtualMachine['spec']['network']>['interfaces']
>[number];

/** How long a claim whose VM is not (yet) written counts as held: the admission may be in flight. */
export const CLAIM_GRACE_MS = 60_000;

/**
 * Written by admission each time it hands an existing claim to its VM again (a retried admission,
 * or a VM re-created under the same name): the grace period runs from then, and the write changes
 * the claim's resourceVersion, so a release decided before it fails its precondition.
 */
export const CLAIMED_AT = 'vmplane.io/claimed-at';
/**
 * The UID of the VM seen carrying the address (written by the controller, cleared by admission
 * when it hands the claim out again): once bound, a claim whose VM is gone is let go at once.
 */
export const BOUND_TO = 'vmplane.io/bound-to';

type Meta = { creationTimestamp?: string; annotations?: Record<string, string> } | undefined;

/** Milliseconds since the claim was made or last handed out again (0 when unknown). */
export function claimAge(claim: NetworkAddress, now: Date): number {
  const meta = claim.metadata as Meta;
  const times = [meta?.creationTimestamp, meta?.annotations?.[CLAIMED_AT]]
    .map((t) => Date.parse(t ?? ''))
    .filter((t) => !Number.isNaN(t));
  return times.length ? Math.max(0, now.getTime() - Math.max(...times)) : 0;
}

/** The UID of the VM the claim is bound to, if any. */
export function boundTo(claim: NetworkAddress): string | undefined {
  return (claim.metadata as Meta)?.annotations?.[BOUND_TO] || undefined;
}

export interface VmRef {
  namespace: string;
  name: string;
}

/** The pod-network interface a VM without interfaces has (translate.ts names it so too). */
export const DEFAULT_INTERFACE = 'default';

export function staticPoolOf(n: Network | undefined): StaticPool | undefined {
  return n?.spec.type !== 'Pod' ? n?.spec.ipam?.staticPool : undefined;
}

/**
 * The interfaces that need their addresses claimed: every one on CREATE; on UPDATE those that are
 * new, lack a MAC (or an IP on a static pool), or changed network, MAC or IP address (the rest
 * hold their claims already).
 */
export function interfacesToClaim(
  interfaces: readonly Interface[],
  old: readonly Interface[] | undefined,
  hasPool: (network: string) => boolean,
): { index: number; iface: Interface }[] {
  return interfaces.flatMap((iface, index) => {
    const before = old?.find((o) => o.name === iface.name);
    const complete =
      !!iface.macAddress && (!!iface.ipAddress || !iface.network || !hasPool(iface.network));
    const same =
      !!before &&
      before.network === iface.network &&
      before.macAddress === iface.macAddress &&
      before.ipAddress === iface.ipAddress;
    return same && complete ? [] : [{ index, iface }];
  });
}

/** Whether the VM spec carries this address (MAC on any interface, IP on the claim's network). */
export function carries(vm: VirtualMachine | undefined, claim: NetworkAddress): boolean {
  const ifaces = vm?.spec?.network?.interfaces ?? [];
  return claim.spec.kind === 'MAC'
    ? ifaces.some(
        (i) => !!i.macAddress && normalizeMac(i.macAddress) === normalizeMac(claim.spec.address),
      )
    : ifaces.some((i) => i.ipAddress === claim.spec.address && i.network === claim.spec.network);
}

export type Verdict = 'mine' | 'held' | 'stale';

/**
 * Whose a claim is: this VM's (same namespace and name: a retried admission finds its own),
 * another VM's that carries the address (or whose admission may still be in flight: within the
 * grace period, unless the claim is bound to a VM that is gone), or stale (its VM is gone or moved
 * on) and free to take over.
 */
export function claimVerdict(
  claim: NetworkAddress,
  me: VmRef,
  holder: VirtualMachine | undefined,
  now: Date,
): Verdict {
  if (claim.spec.vm.namespace === me.namespace && claim.spec.vm.name === me.name) return 'mine';
  if (holder && carries(holder, claim)) return 'held';
  if (boundTo(claim)) return 'stale';
  return claimAge(claim, now) < CLAIM_GRACE_MS ? 'held' : 'stale';
}

const field = (index: number, name: string): string => `spec.network.interfaces[${index}].${name}`;

function holderOf(claim: NetworkAddress): string {
  const v = claim.spec.vm;
  return `interface ${v.interface} of VirtualMachine ${v.namespace}/${v.name}`;
}

export function macTaken(index: number, mac: string, claim: NetworkAddress): Denial {
  return {
    field: field(index, 'macAddress'),
    code: 409,
    message: `"${mac}" is already in use by ${holderOf(claim)}: choose another MAC address, or omit macAddress to get a free one`,
  };
}

export function ipTaken(index: number, ip: string, claim: NetworkAddress): Denial {
  return {
    field: field(index, 'ipAddress'),
    code: 409,
    message: `"${ip}" on network "${claim.spec.network}" is already in use by ${holderOf(claim)}: choose another address of the pool, or omit ipAddress to get a free one`,
  };
}

export function ipOutsidePool(
  index: number,
  ip: string,
  network: string,
  pool: StaticPool,
): Denial {
  return {
    field: field(index, 'ipAddress'),
    code: 422,
    message: `"${ip}" is not in the pool of network "${network}": use an address of ${describeRanges(pool)} (${pool.cidr}), or omit ipAddress to get a free one`,
  };
}

export function ipWithoutPool(index: number, ip: string, network: string): Denial {
  return {
    field: field(index, 'ipAddress'),
    code: 422,
    message: `"${ip}" cannot be set: network "${network}" is not a Network with a static pool (spec.ipam.staticPool); omit ipAddress and let its DHCP server give the address`,
  };
}

export function poolExhausted(index: number, message: string): Denial {
  return { field: field(index, 'network'), code: 409, message };
}

/**
 * The interfaces naming a Network whose namespaceSelector leaves out the VM's namespace (only
 * those the request adds or moves: a VM already on a network keeps it when the selector changes).
 */
export function namespaceDenials(
  interfaces: readonly Interface[],
  old: readonly Interface[] | undefined,
  namespace: string,
  namespaceLabels: Record<string, string> | undefined,
  networks: ReadonlyMap<string, Network | undefined>,
): Denial[] {
  return interfaces.flatMap((iface, index) => {
    if (!iface.network) return [];
    if (old?.some((o) => o.name === iface.name && o.network === iface.network)) return [];
    const net = networks.get(iface.network);
    if (!net || matchesSelector(net.spec.namespaceSelector as LabelSelector, namespaceLabels))
      return [];
    return [
      {
        field: field(index, 'network'),
        code: 403,
        message: `network "${iface.network}" is not offered to namespace "${namespace}": its spec.namespaceSelector does not select this namespace; use a network offered here (kubectl get vmnet) or ask an administrator to widen the selector`,
      },
    ];
  });
}

/** A given IP address checked against the pool (undefined: acceptable). */
export function checkGivenIp(
  index: number,
  iface: Interface,
  network: Network | undefined,
): Denial | undefined {
  if (!iface.ipAddress) return undefined;
  const pool = staticPoolOf(network);
  if (!pool) return ipWithoutPool(index, iface.ipAddress, iface.network ?? '');
  if (!inPool(pool, iface.ipAddress))
    return ipOutsidePool(index, iface.ipAddress, iface.network ?? '', pool);
  return undefined;
}

/**
 * A VM has one interface on the pod network (KubeVirt refuses a second): an interface without a
 * network, or one naming a Network of type Pod. Every interface after the first is refused, naming
 * the first.
 */
export function podNetworkDenials(
  interfaces: readonly Interface[],
  networks: ReadonlyMap<string, Network | undefined>,
): Denial[] {
  const onPod = interfaces.flatMap((iface, index) =>
    onPodNetwork(iface, networks) ? [{ iface, index }] : [],
  );
  const [first, ...more] = onPod;
  return more.map(({ iface, index }) => ({
    field: field(index, 'network'),
    code: 422,
    message: `interface "${iface.name}" (network "${iface.network ?? ''}") would be a second interface on the pod network, beside "${first?.iface.name ?? ''}": a VM has at most one (KubeVirt allows one); put it on an L2 Network or a NetworkAttachmentDefinition`,
  }));
}

/** Whether an interface is on the pod network: it names no Network, or one of type Pod. */
export function onPodNetwork(
  iface: Interface,
  networks: ReadonlyMap<string, Network | undefined>,
): boolean {
  return !iface.network || networks.get(iface.network)?.spec.type === 'Pod';
}

/**
 * Whether a MAC may be handed out unclaimed when the API server cannot be reached: only when every
 * interface to claim is on the pod network. There KubeVirt's masquerade binding keeps the guest's
 * MAC on the link inside its own pod, where no other VM can meet it; on an L2 network two alike
 * would collide, and a static-pool IP is never handed out without its claim.
 */
export function mayAssignUnclaimed(
  work: readonly { iface: Interface }[],
  networks: ReadonlyMap<string, Network | undefined>,
): boolean {
  return work.length > 0 && work.every(({ iface }) => onPodNetwork(iface, networks));
}
