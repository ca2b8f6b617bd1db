// The commands that build the engine's node network (pure): the node namespace (its address,
// forwarding, the isolation ruleset), each launcher pod's namespace (a routed veth as Calico
// makes it, KubeVirt's masquerade binding inside), each L2 attachment (a veth onto the network's
// bridge, KubeVirt's bridge binding inside), and the DHCP servers' command lines.

/** The node's address, the pod range, and the pods' gateway (answered by the node, Calico-like). */
export const NODE_IP = '10.244.0.1';
export const POD_CIDR = '10.244.0.0/24';
export const POD_GATEWAY = '169.254.1.1';
/** The API server's service range (services are translated in the node namespace). */
export const SERVICE_CIDR = '10.0.0.0/24';
/** KubeVirt's masquerade network inside each pod (pkg/network: the guest 10.0.2.2). */
export const MASQ = {
  gateway: '10.0.2.1',
  guest: '10.0.2.2',
  prefix: 24,
  bridge: 'k6t-eth0',
  bridgeMac: '02:00:00:00:00:01',
};
/** Subnets the engine picks for L2 networks whose VMs pin no addresses. */
export const PICKED_L2 = '10.245.0.0/16';

import { LB_POOL } from '../services/lb-pool.ts';

type Cmd = string[];

/** The node namespace: loopback, the node's and the pods' gateway address, forwarding on. */
export function nodeSetup(): Cmd[] {
  return [
    ['ip', 'link', 'set', 'lo', 'up'],
    ['ip', 'addr', 'add', `${NODE_IP}/32`, 'dev', 'lo'],
    ['ip', 'addr', 'add', `${POD_GATEWAY}/32`, 'dev', 'lo'],
    ['sysctl', '-qw', 'net.ipv4.ip_forward=1'],
  ];
}

/**
 * The node's isolation (table inet vmplane-node): whatever a pod or an L2 guest sends to an
 * address outside the pod range, the service range, the load balancers' pool and the engine's L2 subnets is dropped before
 * routing (counter `isolation`); forwarding (policy drop) lets through only traffic between
 * those ranges (counter `forward-dropped` counts the rest). NetworkPolicy and services add their
 * own tables.
 */
export function nodeRuleset(l2Subnets: readonly string[]): string {
  const allowed = [POD_CIDR, SERVICE_CIDR, LB_POOL, ...l2Subnets].join(', ');
  return [
    'table inet vmplane-node',
    'delete table inet vmplane-node',
    'table inet vmplane-node {',
    `  set allowed { type ipv4_addr; flags interval; auto-merge; elements = { ${allowed} } }`,
    '  chain isolation {',
    '    type filter hook prerouting priority -200; policy accept;',
    '    iifname "lo" accept',
    '    ip daddr 255.255.255.255 udp dport 67 accept',
    '    meta nfproto ipv6 counter name dropped6 drop',
    // Multicast (IGMP reports and the like) stays on its link: dropped, not counted.
    '    ip daddr 224.0.0.0/4 drop',
    '    ip daddr != @allowed counter name isolation drop',
    '  }',
    '  counter isolation {}',
    '  counter dropped6 {}',
    '  counter forwarded {}',
    '  counter forward-dropped {}',
    '  chain forward {',
    '    type filter hook forward priority 0; policy drop;',
    '    ip saddr @allowed ip daddr @allowed counter name forwarded accept',
    '    counter name forward-dropped',
    '  }',
    '}',
    '',
  ].join('\n');
}

export interface PodLinks {
  /** The node side of the pod's veth. */
  hostLink: string;
  podIP: string;
  /** QEMU's tap for the pod network's card (none when no interface is on the pod network). */
  tap?: string;
}

/** A veth pair whose peer `inPod` is made in the pod's namespace `podPid`. */
function vethInto(host: string, inPod: string, podPid: number): Cmd {
  return [
    'ip',
    'link',
    'add',
    host,
    'type',
    'veth',
    'peer',
    'name',
    inPod,
    'netns',
    String(podPid),
  ];
}

/** Node side: the veth (its peer moved into the pod's namespace `podPid`), the /32 route. */
export function podHostSide(l: PodLinks, podPid: number): Cmd[] {
  return [
    vethInto(l.hostLink, 'eth0', podPid),
    ['sysctl', '-qw', `net.ipv4.conf.${l.hostLink}.proxy_arp=1`],
    ['ip', 'link', 'set', l.hostLink, 'up'],
    ['ip', 'route', 'add', `${l.podIP}/32`, 'dev', l.hostLink, 'scope', 'link'],
  ];
}

/** Pod side: eth0 with the pod's /32, every packet to the node; KubeVirt's masquerade bridge. */
export function podSide(l: PodLinks): Cmd[] {
  const masq = l.tap
    ? [
        // One MAC for the guest's gateway in every pod: after a live migration the guest's ARP
        // entry for 10.0.2.1 still holds.
        ['ip', 'link', 'add', MASQ.bridge, 'address', MASQ.bridgeMac, 'type', 'bridge'],
        ['ip', 'addr', 'add', `${MASQ.gateway}/${MASQ.prefix}`, 'dev', MASQ.bridge],
        ['ip', 'tuntap', 'add', l.tap, 'mode', 'tap'],
        ['ip', 'link', 'set', l.tap, 'master', MASQ.bridge, 'up'],
        ['ip', 'link', 'set', MASQ.bridge, 'up'],
      ]
    : [];
  return [
    ['ip', 'link', 'set', 'lo', 'up'],
    ['sysctl', '-qw', 'net.ipv4.ip_forward=1'],
    ['ip', 'addr', 'add', `${l.podIP}/32`, 'dev', 'eth0'],
    ['ip', 'link', 'set', 'eth0', 'up'],
    ['ip', 'route', 'add', POD_GATEWAY, 'dev', 'eth0', 'scope', 'link'],
    // The pod's one route is to its node (as Calico's); the node routes only its own ranges.
    ['ip', 'route', 'add', 'default', 'via', POD_GATEWAY, 'dev', 'eth0', 'onlink'],
    ...masq,
  ];
}

/**
 * KubeVirt's masquerade nat inside the pod: what comes in on eth0 for the pod's address goes to
 * the guest (every port), what the guest sends out leaves as the pod's address.
 */
export function masqueradeRuleset(podIP: string): string {
  return [
    'table ip kubevirt-masq {',
    '  chain prerouting {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    `    iifname "eth0" ip daddr ${podIP} counter dnat to ${MASQ.guest}`,
    '  }',
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    `    ip daddr ${podIP} counter dnat to ${MASQ.guest}`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${MASQ.guest} oifname "eth0" counter snat to ${podIP}`,
    `    oifname "${MASQ.bridge}" ip saddr 127.0.0.1 counter snat to ${MASQ.gateway}`,
    '  }',
    '}',
    '',
  ].join('\n');
}

export interface L2Links {
  bridge: string;
  /** The node side of the veth (on the bridge). */
  hostLink: string;
  /** The pod side's name (net1, net2, ... as Multus names them). */
  podLink: string;
  tap: string;
}

/** Node side of an L2 attachment: the veth onto the network's bridge. */
export function l2HostSide(l: L2Links, podPid: number): Cmd[] {
  return [
    vethInto(l.hostLink, l.podLink, podPid),
    ['ip', 'link', 'set', l.hostLink, 'master', l.bridge, 'up'],
  ];
}

/** KubeVirt's bridge binding in the pod: the pod's link and the guest's tap on one bridge. */
export function l2PodSide(l: L2Links): Cmd[] {
  const br = `k6t-${l.podLink}`;
  return [
    ['ip', 'link', 'add', br, 'type', 'bridge'],
    ['ip', 'link', 'set', l.podLink, 'master', br, 'up'],
    ['ip', 'tuntap', 'add', l.tap, 'mode', 'tap'],
    ['ip', 'link', 'set', l.tap, 'master', br, 'up'],
    ['ip', 'link', 'set', br, 'up'],
  ];
}

/** A network's bridge in the node namespace, with the node's address on its segment. */
export function bridgeSetup(bridge: string, serverIP: string, cidr: string): Cmd[] {
  return [
    ['ip', 'link', 'add', bridge, 'type', 'bridge'],
    ['ip', 'addr', 'add', `${serverIP}/${cidr.split('/')[1] ?? '24'}`, 'dev', bridge],
    ['ip', 'link', 'set', bridge, 'up'],
  ];
}

/**
 * dnsmasq as one segment's DHCP server only (no DNS): on one interface, leases in `leaseFile`,
 * MAC pins in `hostsFile` (re-read on SIGHUP), in the foreground as the engine's child, staying
 * root of the user namespace.
 */
export function dnsmasqArgs(o: {
  iface: string;
  range: string;
  leaseFile: string;
  hostsFile?: string;
  router?: string;
  /** Where dnsmasq logs (each DHCP exchange): `-`, its stderr, by default. */
  logFile?: string;
}): string[] {
  return [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--port=0',
    `--interface=${o.iface}`,
    '--bind-interfaces',
    '--except-interface=lo',
    `--dhcp-range=${o.range}`,
    `--dhcp-leasefile=${o.leaseFile}`,
    ...(o.hostsFile ? [`--dhcp-hostsfile=${o.hostsFile}`] : []),
    o.router ? `--dhcp-option=option:router,${o.router}` : '--dhcp-option=option:router',
    '--dhcp-authoritative',
    // No ping of an address before offering it (3 s a guest's DHCP client does not wait).
    '--no-ping',
    '--pid-file=',
    // No user or group to change to: the user namespace refuses setgroups (empty: none).
    '--user=',
    '--group=',
    `--log-facility=${o.logFile ?? '-'}`,
    '--log-dhcp',
  ];
}

/** How long dnsmasq's leases last (the `1h` of every range). */
export const LEASE_SECONDS = 3600;

/**
 * dnsmasq's lease file: `expiry mac ip hostname client-id` per line. The address leased to a MAC
 * at or after `sinceS` (epoch seconds; a lease from an earlier run of the guest is not this one's).
 */
export function leasedAddress(leases: string, mac: string, sinceS = 0): string | undefined {
  const want = mac.toLowerCase();
  for (const line of leases.split('\n')) {
    const [expiry, m, ip] = line.trim().split(/\s+/);
    if (m?.toLowerCase() !== want || !ip) continue;
    if (Number(expiry) - LEASE_SECONDS >= Math.floor(sinceS)) return ip;
  }
  return undefined;
}
