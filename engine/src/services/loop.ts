// The engine's kube-proxy and MetalLB, on informers: every change to a Service or an EndpointSlice
// makes the whole services table again and loads it into the node namespace (NodeNetwork.nft), and
// each LoadBalancer Service vmplane owns gets its address from the pool in
// status.loadBalancer.ingress. Services vmplane does not own are translated (as kube-proxy does for
// every Service on a node) but never written to: without an address they stay pending.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ControllerDefinition, Manager } from '../../../kube/src/manager.ts';
import { isNotFound } from '../../../kube/src/rest.ts';
import type { NodeNetwork } from '../network/node-network.ts';
import { allocateLoadBalancers, LB_POOL, parsePool, type LbService } from './lb-pool.ts';
import { serviceRoutes, serviceRules, type EndpointSlice, type Service } from './rules.ts';

export const SERVICES = '/api/v1/services';
export const ENDPOINT_SLICES = '/apis/discovery.k8s.io/v1/endpointslices';
const KEY = 'services-table';
/** The API server's service range in the sandbox (--service-cluster-ip-range). */
export const SERVICE_CIDR = '10.0.0.0/24';
const OWNED = { label: 'app.kubernetes.io/managed-by', value: 'vmplane' };

type Svc = Service & LbService & KubernetesObject;

const owned = (s: KubernetesObject): boolean => s.metadata?.labels?.[OWNED.label] === OWNED.value;

/** Writes the address MetalLB would, when it differs from what the Service shows. */
async function writeIngress(manager: Manager, s: Svc, ip: string | undefined): Promise<void> {
  const have = s.status?.loadBalancer?.ingress?.map((i) => i.ip) ?? [];
  if (have.length === (ip ? 1 : 0) && (!ip || have[0] === ip)) return;
  const { namespace = '', name = '' } = s.metadata;
  await manager.rest
    .request('PATCH', `/api/v1/namespaces/${namespace}/services/${name}/status`, {
      body: { status: { loadBalancer: { ingress: ip ? [{ ip, ipMode: 'VIP' }] : [] } } },
      contentType: 'application/merge-patch+json',
    })
    .catch((e) => {
      if (!isNotFound(e)) throw e;
    });
}

/** One pass: addresses for owned LoadBalancer Services, then the whole table loaded. */
export async function syncServices(
  manager: Manager,
  network: NodeNetwork,
  services: readonly Svc[],
  slices: readonly EndpointSlice[],
  pool = LB_POOL,
): Promise<string> {
  const mine = services.filter(owned);
  const given = allocateLoadBalancers(mine, parsePool(pool));
  const seen: Service[] = [];
  for (const s of services) {
    const a = owned(s) ? given.get(`${s.metadata.namespace}/${s.metadata.name}`) : undefined;
    if (a && 'error' in a)
      manager.log.warn(`service ${s.metadata.namespace}/${s.metadata.name}: ${a.error}`);
    const ip = a && 'ip' in a ? a.ip : undefined;
    if (owned(s) && s.spec?.type === 'LoadBalancer') await writeIngress(manager, s, ip);
    seen.push(ip ? { ...s, status: { loadBalancer: { ingress: [{ ip }] } } } : s);
  }
  const ruleset = serviceRules(seen, slices, network.nodeIP);
  await network.nft(ruleset);
  return ruleset;
}

/**
 * The controller to add to the engine's manager once its node network exists:
 * `manager.add(servicesController(manager, network))`. One key: the table is made whole each time.
 */
export function servicesController(
  manager: Manager,
  network: NodeNetwork,
  o: { pool?: string; serviceCidr?: string } = {},
): ControllerDefinition {
  const pool = o.pool ?? LB_POOL;
  let routed = false;
  const services = manager.informer<Svc>(SERVICES);
  const slices = manager.informer<EndpointSlice & KubernetesObject>(ENDPOINT_SLICES);
  return {
    name: 'local-engine-services',
    concurrency: 1,
    watches: [
      { path: SERVICES, keys: () => [KEY] },
      { path: ENDPOINT_SLICES, keys: () => [KEY] },
    ],
    allKeys: () => [KEY],
    reconcile: async () => {
      if (!routed) {
        for (const argv of serviceRoutes(o.serviceCidr ?? SERVICE_CIDR, pool)) {
          const r = await network.exec(argv);
          if (r.code !== 0)
            throw new Error(`${argv.join(' ')} failed in the node namespace: ${r.stderr.trim()}`);
        }
        routed = true;
      }
      await syncServices(manager, network, services.list(), slices.list(), pool);
    },
  };
}
