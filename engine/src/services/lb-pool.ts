// The engine's LoadBalancer addresses, as MetalLB's controller gives them (one pool, layer 2): a
// LoadBalancer Service keeps the address it has while that address is in the pool and no other
// Service holds it; a Service asking for one (spec.loadBalancerIP) gets it when it is free; any
// other gets the lowest free address. The pool lies inside the engine's namespace, apart from the
// pod range (10.244.0.0/24) and the service range (10.0.0.0/24). Pure.
import { intToIp, ipToInt, parseCidr } from '../../../api/src/ipv4.ts';

/** The default pool: inside the engine's namespace, overlapping neither pods nor services. */
export const LB_POOL = '10.244.255.0/24';

export interface LbService {
  metadata: { namespace?: string; name?: string; creationTimestamp?: string };
  spec?: { type?: string; loadBalancerIP?: string; loadBalancerClass?: string };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

export interface Pool {
  first: number;
  last: number;
}

/** The usable addresses of a CIDR (network and broadcast left out, as MetalLB's avoidBuggyIPs). */
export function parsePool(cidr: string): Pool {
  const c = parseCidr(cidr);
  if (!c || c.prefix < 16 || c.prefix > 30)
    throw new Error(
      `load balancer pool: ${JSON.stringify(cidr)} is not accepted: an IPv4 CIDR from /16 to /30`,
    );
  return { first: c.base + 1, last: c.base + 2 ** (32 - c.prefix) - 2 };
}

const keyOf = (s: LbService): string => `${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`;
const inPool = (p: Pool, ip: string | undefined): ip is string => {
  const n = ipToInt(ip ?? '');
  return n !== undefined && n >= p.first && n <= p.last;
};

export type Allocation = { ip: string } | { error: string };

/**
 * The address of every LoadBalancer Service of the class the engine plays (none given), by
 * namespace/name. Services already holding an address are served first, then the oldest.
 */
export function allocateLoadBalancers(
  services: readonly LbService[],
  pool: Pool,
): Map<string, Allocation> {
  const wanted = services
    .filter((s) => s.spec?.type === 'LoadBalancer' && !s.spec.loadBalancerClass)
    .sort(
      (a, b) =>
        (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
        keyOf(a).localeCompare(keyOf(b)),
    );
  const taken = new Set<string>();
  const out = new Map<string, Allocation>();
  // Kept addresses first: a Service never loses its address to a newcomer.
  for (const s of wanted) {
    const had = s.status?.loadBalancer?.ingress?.[0]?.ip;
    const asked = s.spec?.loadBalancerIP;
    if (inPool(pool, had) && !taken.has(had) && (!asked || asked === had)) {
      taken.add(had);
      out.set(keyOf(s), { ip: had });
    }
  }
  for (const s of wanted) {
    if (out.has(keyOf(s))) continue;
    const asked = s.spec?.loadBalancerIP;
    if (asked) {
      out.set(
        keyOf(s),
        !inPool(pool, asked)
          ? {
              error: `spec.loadBalancerIP ${asked} is not in the engine's pool ${intToIp(pool.first)}-${intToIp(pool.last)}`,
            }
          : taken.has(asked)
            ? { error: `spec.loadBalancerIP ${asked} is already used by another Service` }
            : { ip: asked },
      );
      if (!taken.has(asked) && inPool(pool, asked)) taken.add(asked);
      continue;
    }
    let n = pool.first;
    while (n <= pool.last && taken.has(intToIp(n))) n++;
    if (n > pool.last) {
      out.set(keyOf(s), {
        error: `no address left in the engine's pool ${intToIp(pool.first)}-${intToIp(pool.last)}`,
      });
      continue;
    }
    taken.add(intToIp(n));
    out.set(keyOf(s), { ip: intToIp(n) });
  }
  return out;
}
