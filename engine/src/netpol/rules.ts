// NetworkPolicy (networking.k8s.io/v1) made into nftables for the engine's node namespace, where
// every packet between pods crosses the forward hook. Kubernetes' semantics: a pod is isolated for
// a direction only when some policy in its namespace selects it and names that direction
// (policyTypes; Ingress always when not given, Egress when the policy has egress rules); then a new
// connection passes only when a rule of one of those policies allows it (rules add up, never
// subtract). A connection between two pods must pass the source's egress and the destination's
// ingress. Replies of an allowed connection pass (conntrack's established, related). A peer is a
// podSelector (in the policy's namespace), a namespaceSelector (every pod there), both (pods
// matching in namespaces matching), or an ipBlock (a CIDR minus its excepts). A named port is the
// destination pod's container port of that name and protocol: for a VM, one of its interfaces'
// `ports` (KubeVirt copies them to the launcher's compute container). Pure.
import { createHash } from 'node:crypto';
import { inCidr, matches, parseCidr, type LabelSelector } from './selector.ts';

export const NETPOL_TABLE = 'vmplane-netpol';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface PolicyPort {
  protocol?: Protocol;
  port?: number | string;
  endPort?: number;
}

export interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: PolicyPort[];
}

export interface NetworkPolicy {
  metadata: { namespace?: string; name?: string };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: ('Ingress' | 'Egress')[];
    ingress?: PolicyRule[];
    egress?: PolicyRule[];
  };
}

/** A pod as the rules see it: where it is, its labels, its addresses, its named ports. */
export interface PodInfo {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  ips: string[];
  ports: { name?: string; port: number; protocol: Protocol }[];
}

export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
}

type Direction = 'Ingress' | 'Egress';

/** The directions a policy isolates (networking/v1 defaults of policyTypes). */
export function policyTypes(p: NetworkPolicy): Direction[] {
  if (p.spec.policyTypes?.length) return p.spec.policyTypes;
  return p.spec.egress ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** The pods a policy applies to: in its namespace, matching its podSelector. */
export const selectedPods = (p: NetworkPolicy, pods: readonly PodInfo[]): PodInfo[] =>
  pods.filter(
    (pod) => pod.namespace === p.metadata.namespace && matches(p.spec.podSelector, pod.labels),
  );

type Peer =
  | { kind: 'any' }
  | { kind: 'pods'; pods: PodInfo[] }
  | { kind: 'block'; cidr: string; except: string[]; inBlock: (ip: string) => boolean };

/** What a peer stands for, in the policy's namespace and with the namespaces' labels. */
function resolvePeer(
  field: string,
  peer: PolicyPeer,
  policyNs: string,
  pods: readonly PodInfo[],
  namespaces: readonly NamespaceInfo[],
): Peer {
  if (peer.ipBlock) {
    const cidr = parseCidr(`${field}.ipBlock.cidr`, peer.ipBlock.cidr);
    const except = (peer.ipBlock.except ?? []).map((e, i) =>
      parseCidr(`${field}.ipBlock.except[${i}]`, e),
    );
    return {
      kind: 'block',
      cidr: cidr.text,
      except: except.map((e) => e.text),
      inBlock: (ip) => inCidr(cidr, ip) && !except.some((e) => inCidr(e, ip)),
    };
  }
  const nsLabels = new Map(namespaces.map((n) => [n.name, n.labels]));
  const inNs = (pod: PodInfo): boolean =>
    peer.namespaceSelector
      ? matches(peer.namespaceSelector, nsLabels.get(pod.namespace) ?? {})
      : pod.namespace === policyNs;
  const podOk = (pod: PodInfo): boolean =>
    !peer.podSelector || matches(peer.podSelector, pod.labels);
  return { kind: 'pods', pods: pods.filter((p) => inNs(p) && podOk(p)) };
}

const proto = (p: Protocol | undefined): string => (p ?? 'TCP').toLowerCase();

/** A named port's number on a pod, for that protocol. */
const namedPort = (
  pod: PodInfo,
  name: string,
  protocol: Protocol | undefined,
): number | undefined =>
  pod.ports.find((p) => p.name === name && p.protocol === (protocol ?? 'TCP'))?.port;

const set = (ips: readonly string[]): string =>
  ips.length === 1 ? (ips[0] ?? '') : `{ ${[...new Set(ips)].sort().join(', ')} }`;

/** The peer's address match, for the field (saddr for ingress, daddr for egress). */
function peerMatch(peer: Peer, addr: 'saddr' | 'daddr'): string | undefined {
  if (peer.kind === 'any') return '';
  if (peer.kind === 'block')
    return `ip ${addr} ${peer.cidr}${peer.except.length ? ` ip ${addr} != ${set(peer.except)}` : ''} `;
  const ips = peer.pods.flatMap((p) => p.ips);
  return ips.length ? `ip ${addr} ${set(ips)} ` : undefined;
}

/** The nft matches one rule allows, for one isolated pod in one direction. */
export function ruleMatches(
  dir: Direction,
  rule: PolicyRule,
  field: string,
  target: PodInfo,
  ctx: { policyNs: string; pods: readonly PodInfo[]; namespaces: readonly NamespaceInfo[] },
): string[] {
  const given = dir === 'Ingress' ? rule.from : rule.to;
  const peers: Peer[] = given?.length
    ? given.map((p, i) =>
        resolvePeer(
          `${field}.${dir === 'Ingress' ? 'from' : 'to'}[${i}]`,
          p,
          ctx.policyNs,
          ctx.pods,
          ctx.namespaces,
        ),
      )
    : [{ kind: 'any' }];
  const addr = dir === 'Ingress' ? 'saddr' : 'daddr';
  const ports: (PolicyPort | undefined)[] = rule.ports?.length ? rule.ports : [undefined];
  const out: string[] = [];
  for (const peer of peers) {
    const where = peerMatch(peer, addr);
    if (where === undefined) continue;
    for (const port of ports) {
      if (!port) out.push(`${where}`.trim());
      else if (port.port === undefined) out.push(`${where}meta l4proto ${proto(port.protocol)}`);
      else if (typeof port.port === 'number')
        out.push(
          `${where}meta l4proto ${proto(port.protocol)} th dport ${port.port}${port.endPort && port.endPort > port.port ? `-${port.endPort}` : ''}`,
        );
      else out.push(...namedPortMatches(dir, peer, port, target, ctx.pods));
    }
  }
  return out;
}

/**
 * A named port: on ingress, the isolated pod's own port of that name; on egress, the port of that
 * name on each destination pod the peer stands for (an ipBlock: the known pods inside it).
 */
function namedPortMatches(
  dir: Direction,
  peer: Peer,
  port: PolicyPort,
  target: PodInfo,
  pods: readonly PodInfo[],
): string[] {
  const name = String(port.port);
  const p = proto(port.protocol);
  if (dir === 'Ingress') {
    const n = namedPort(target, name, port.protocol);
    const where = peerMatch(peer, 'saddr');
    return n === undefined || where === undefined
      ? []
      : [`${where}meta l4proto ${p} th dport ${n}`];
  }
  const candidates =
    peer.kind === 'pods'
      ? peer.pods
      : peer.kind === 'block'
        ? pods.filter((x) => x.ips.some(peer.inBlock))
        : pods;
  return candidates.flatMap((dst) => {
    const n = namedPort(dst, name, port.protocol);
    const ips = peer.kind === 'block' ? dst.ips.filter(peer.inBlock) : dst.ips;
    return n === undefined || !ips.length
      ? []
      : [`ip daddr ${set(ips)} meta l4proto ${p} th dport ${n}`];
  });
}

const hash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 12);
const comment = (s: string): string => `"${s.replace(/[^A-Za-z0-9 ./:_@=-]/g, '_').slice(0, 120)}"`;

/** One isolated pod's chain for a direction: what its policies allow returns, the rest drops. */
function podChain(
  dir: Direction,
  pod: PodInfo,
  policies: readonly NetworkPolicy[],
  pods: readonly PodInfo[],
  namespaces: readonly NamespaceInfo[],
): { name: string; lines: string[] } {
  const name = `${dir === 'Ingress' ? 'in' : 'eg'}-${hash(`${pod.namespace}/${pod.name}`)}`;
  const allowed = policies.flatMap((pol) => {
    const rules = (dir === 'Ingress' ? pol.spec.ingress : pol.spec.egress) ?? [];
    const ctx = { policyNs: pol.metadata.namespace ?? '', pods, namespaces };
    const base = `NetworkPolicy ${pol.metadata.namespace}/${pol.metadata.name} spec.${dir.toLowerCase()}`;
    return rules.flatMap((r, i) => ruleMatches(dir, r, `${base}[${i}]`, pod, ctx));
  });
  const label = `${dir.toLowerCase()} ${pod.namespace}/${pod.name}`;
  return {
    name,
    lines: [
      `  chain ${name} {`,
      `    comment ${comment(label)}`,
      ...[...new Set(allowed)].map((m) => `    ${m ? `${m} ` : ''}return`),
      `    counter drop comment ${comment(`dropped ${label}`)}`,
      `  }`,
    ],
  };
}

/** The whole table, replacing what was there when loaded with `nft -f -` (atomically). */
export function networkPolicyRules(
  policies: readonly NetworkPolicy[],
  pods: readonly PodInfo[],
  namespaces: readonly NamespaceInfo[],
): string {
  const withIps = pods.filter((p) => p.ips.length);
  const chains: string[] = [];
  const dispatch: Record<Direction, string[]> = { Ingress: [], Egress: [] };
  for (const pod of withIps) {
    for (const dir of ['Egress', 'Ingress'] as const) {
      const mine = policies.filter(
        (p) => policyTypes(p).includes(dir) && selectedPods(p, [pod]).length,
      );
      if (!mine.length) continue;
      const c = podChain(dir, pod, mine, withIps, namespaces);
      chains.push(...c.lines);
      for (const ip of pod.ips) dispatch[dir].push(`${ip} : jump ${c.name}`);
    }
  }
  const vmap = (addr: string, entries: string[]): string[] =>
    entries.length ? [`    ip ${addr} vmap { ${entries.join(', ')} }`] : [];
  return [
    `table inet ${NETPOL_TABLE}`,
    `delete table inet ${NETPOL_TABLE}`,
    `table inet ${NETPOL_TABLE} {`,
    `  chain forward {`,
    `    type filter hook forward priority filter; policy accept;`,
    `    ct state established,related accept`,
    // The source's egress first (its chain returns what it allows), then the destination's ingress.
    ...vmap('saddr', dispatch.Egress),
    ...vmap('daddr', dispatch.Ingress),
    `  }`,
    ...chains,
    `}`,
    '',
  ].join('\n');
}
