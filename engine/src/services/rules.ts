// kube-proxy's part in the engine's node namespace: Services and their EndpointSlices made into
// one nftables table, as kube-proxy's nftables mode programs a node (pkg/proxy/nftables): a
// ClusterIP, a NodePort at the node's address and each LoadBalancer ingress address are DNATed to
// a ready endpoint chosen at random (`numgen random mod n vmap`), in prerouting (packets from pods)
// and output (connections the node itself opens); a pod that reaches itself through its service
// is masqueraded (hairpin), and a service port without ready endpoints is rejected. Pure.
import { createHash } from 'node:crypto';

export const SERVICES_TABLE = 'vmplane-services';
/** The mark that asks postrouting to masquerade (kube-proxy's 0x4000). */
const MASQUERADE_MARK = '0x4000';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface ServicePort {
  name?: string;
  protocol?: Protocol;
  port: number;
  nodePort?: number;
}

export interface Service {
  metadata: { namespace?: string; name?: string };
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    ports?: ServicePort[];
  };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

export interface EndpointSlice {
  metadata: { namespace?: string; labels?: Record<string, string> };
  addressType?: string;
  ports?: { name?: string | null; port?: number | null; protocol?: Protocol }[] | null;
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean | null } }[];
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** One ready backend of a service port. */
export interface Endpoint {
  ip: string;
  port: number;
}

/** A service port as the rules see it: where it is reached, and where it leads. */
export interface Frontend {
  /** namespace/name:port-name, for comments. */
  id: string;
  protocol: Protocol;
  /** Address and port pairs that reach the service port. */
  addresses: { ip: string; port: number }[];
  endpoints: Endpoint[];
}

const isIPv4 = (s: string | undefined): s is string =>
  !!s && /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s);

/** The ready IPv4 endpoints of a service port, from the service's slices (by port name). */
export function readyEndpoints(
  slices: readonly EndpointSlice[],
  portName: string,
  protocol: Protocol,
): Endpoint[] {
  const out = new Map<string, Endpoint>();
  for (const s of slices) {
    if (s.addressType && s.addressType !== 'IPv4') continue;
    const p = (s.ports ?? []).find(
      (x) => (x.name ?? '') === portName && (x.protocol ?? 'TCP') === protocol,
    );
    if (!p?.port) continue;
    for (const e of s.endpoints ?? []) {
      // EndpointSlice: a missing ready condition means ready.
      if (e.conditions?.ready === false) continue;
      for (const ip of e.addresses.filter(isIPv4)) out.set(`${ip}:${p.port}`, { ip, port: p.port });
    }
  }
  return [...out.values()].sort((a, b) => a.ip.localeCompare(b.ip) || a.port - b.port);
}

/** Every service port of every service, with the addresses that reach it and its endpoints. */
export function frontends(
  services: readonly Service[],
  slices: readonly EndpointSlice[],
  nodeIP: string,
): Frontend[] {
  const out: Frontend[] = [];
  for (const svc of services) {
    const { namespace = '', name = '' } = svc.metadata;
    const type = svc.spec?.type ?? 'ClusterIP';
    if (type === 'ExternalName') continue;
    const clusterIPs = [svc.spec?.clusterIP, ...(svc.spec?.clusterIPs ?? [])].filter(isIPv4);
    const own = slices.filter(
      (s) => s.metadata.namespace === namespace && s.metadata.labels?.[SERVICE_NAME_LABEL] === name,
    );
    const ingress =
      type === 'LoadBalancer'
        ? (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter(isIPv4)
        : [];
    for (const p of svc.spec?.ports ?? []) {
      const protocol = p.protocol ?? 'TCP';
      const addresses = [...new Set([...clusterIPs, ...ingress])].map((ip) => ({
        ip,
        port: p.port,
      }));
      if ((type === 'NodePort' || type === 'LoadBalancer') && p.nodePort)
        addresses.push({ ip: nodeIP, port: p.nodePort });
      if (!addresses.length) continue;
      out.push({
        id: `${namespace}/${name}:${p.name ?? p.port}`,
        protocol,
        addresses,
        endpoints: readyEndpoints(own, p.name ?? '', protocol),
      });
    }
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * The node namespace's routes the translation needs (`ip` argv lists): the service range and the
 * load balancer pool are local addresses of the node, so that the node's own connections to them
 * find a route before output's DNAT, and a service port without a rule is answered (rejected) at
 * once, not routed nowhere. Pods route both ranges through the node.
 */
export function serviceRoutes(...cidrs: string[]): string[][] {
  return cidrs.map((c) => ['ip', 'route', 'replace', 'local', c, 'dev', 'lo']);
}

const hash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);
const proto = (p: Protocol): string => p.toLowerCase();
/** A comment nft accepts: printable, no quotes, at most 128 bytes. */
export const nftComment = (s: string): string =>
  `"${s.replace(/[^A-Za-z0-9 ./:_@=-]/g, '_').slice(0, 120)}"`;

/** The chains of one service port: its dispatch and one per endpoint. */
function serviceChains(f: Frontend): string[] {
  const svc = `svc-${hash(f.id)}`;
  const eps = f.endpoints.map((e) => ({ ...e, chain: `ep-${hash(`${f.id}>${e.ip}:${e.port}`)}` }));
  const map = eps.map((e, i) => `${i} : goto ${e.chain}`).join(', ');
  return [
    `  chain ${svc} {`,
    `    comment ${nftComment(f.id)}`,
    `    numgen random mod ${eps.length} vmap { ${map} }`,
    `  }`,
    ...eps.flatMap((e) => [
      `  chain ${e.chain} {`,
      // Hairpin: the pod reaches itself; its reply must come back through the node.
      `    ip saddr ${e.ip} meta mark set meta mark | ${MASQUERADE_MARK}`,
      `    meta l4proto ${proto(f.protocol)} dnat to ${e.ip}:${e.port}`,
      `  }`,
    ]),
  ];
}

/**
 * The whole table, replacing what was there (`nft -f -` applies it atomically): a table declared
 * then deleted then written, so the first load and every later one read the same.
 */
export function serviceRules(
  services: readonly Service[],
  slices: readonly EndpointSlice[],
  nodeIP: string,
): string {
  const all = frontends(services, slices, nodeIP);
  const live = all.filter((f) => f.endpoints.length);
  const dead = all.filter((f) => !f.endpoints.length);
  const match = (f: Frontend, a: { ip: string; port: number }): string =>
    `ip daddr ${a.ip} meta l4proto ${proto(f.protocol)} th dport ${a.port}`;
  const none = dead.flatMap((f) =>
    f.addresses.map((a) => `${a.ip} . ${proto(f.protocol)} . ${a.port}`),
  );
  const reject = (hook: string, priority: string): string[] => [
    `  chain reject-${hook} {`,
    `    type filter hook ${hook} priority ${priority}; policy accept;`,
    ...(none.length ? ['    ip daddr . meta l4proto . th dport @no-endpoints counter reject'] : []),
    `  }`,
  ];
  return [
    `table ip ${SERVICES_TABLE}`,
    `delete table ip ${SERVICES_TABLE}`,
    `table ip ${SERVICES_TABLE} {`,
    `  set no-endpoints {`,
    `    type ipv4_addr . inet_proto . inet_service`,
    ...(none.length ? [`    elements = { ${none.join(', ')} }`] : []),
    `  }`,
    `  chain prerouting {`,
    `    type nat hook prerouting priority dstnat; policy accept;`,
    `    jump services`,
    `  }`,
    `  chain output {`,
    `    type nat hook output priority -100; policy accept;`,
    `    jump services`,
    `  }`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    `    meta mark & ${MASQUERADE_MARK} == ${MASQUERADE_MARK} masquerade`,
    `  }`,
    ...reject('forward', '-10'),
    ...reject('input', '-10'),
    ...reject('output', '-10'),
    `  chain services {`,
    ...live.flatMap((f) =>
      f.addresses.map(
        (a) => `    ${match(f, a)} goto svc-${hash(f.id)} comment ${nftComment(f.id)}`,
      ),
    ),
    `  }`,
    ...live.flatMap(serviceChains),
    `}`,
    '',
  ].join('\n');
}
