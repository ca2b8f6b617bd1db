// The I/O of address admission (network-claims.ts and network-pool.ts decide): read the Networks
// a VM names and the NetworkAddresses live, and claim each MAC and static-pool IP by creating the
// NetworkAddress named after it. The API server's AlreadyExists is the only arbiter, so two
// admissions (on any replica) never hand out one address twice; a claim found in the way is this
// VM's own (a retried admission), another VM's (deny, naming it), or stale (taken over). A dry
// run decides and checks the same way and creates nothing. Only a pod-network MAC may be handed out
// unclaimed, when this replica cannot reach the API server in time (mayAssignUnclaimed says why).
import type { Network, NetworkAddress, VirtualMachine } from '../../api/generated/types.ts';
import { GROUP } from '../../api/src/wellknown.ts';
import { NetworkAddressLabels } from '../../api/src/v1alpha1/network.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { ApiError, RequestTimeout, type KubeRest } from '../../kube/src/rest.ts';
import type { Denial } from '../../decisions/src/vm.ts';
import type { AdmissionRequest } from './admission.ts';
import {
  BOUND_TO,
  checkGivenIp,
  CLAIMED_AT,
  claimVerdict,
  DEFAULT_INTERFACE,
  interfacesToClaim,
  ipTaken,
  macTaken,
  mayAssignUnclaimed,
  namespaceDenials,
  podNetworkDenials,
  poolExhausted,
  staticPoolOf,
  type Interface,
  type VmRef,
} from '../../decisions/src/network-claims.ts';
import {
  exhaustedMessage,
  ipClaimName,
  macClaimName,
  normalizeMac,
  pickFreeIp,
  randomMac,
} from '../../decisions/src/network-pool.ts';

const API = `/apis/${GROUP}/v1alpha1`;
const ADDRESSES = `${API}/networkaddresses`;
/** Random candidates tried before giving up (a MAC collision in 2^24 is rare; IPs re-list). */
const MAC_ATTEMPTS = 16;
const IP_ATTEMPTS = 64;
/**
 * How long pod-network claims wait for the API server before the MACs go unclaimed: well inside
 * the 5 s the API server gives the webhook (its registration's timeoutSeconds).
 */
export const POD_CLAIM_DEADLINE_MS = 2000;

type Claimed = { ok: true; created?: string } | { ok: false; existing: NetworkAddress };

interface Request {
  rest: KubeRest;
  me: VmRef;
  dryRun: boolean;
  networks: Map<string, Network | undefined>;
  own: NetworkAddress[];
  created: string[];
}

/** What address admission decided: a refusal, or what it did for the decision log. */
export interface Assigned {
  denial?: Denial;
  notes: string[];
}

export class NetworkAddresses {
  /** `rest` with a short deadline, for claims that need not wait (the pod network's). */
  private readonly quick: KubeRest;

  constructor(
    private readonly rest: KubeRest,
    private readonly random: () => number = Math.random,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.quick = rest.withTimeout(POD_CLAIM_DEADLINE_MS);
  }

  /**
   * Fills in and claims the MAC (and static-pool IP) of every interface that needs one, on the VM
   * under admission (changed in place). A network not offered to the VM's namespace is refused
   * before anything is claimed. The first refusal is returned; what this request claimed before
   * it is let go again. Claims on the pod network alone wait POD_CLAIM_DEADLINE_MS for the API
   * server; past that (a replica cut off from it) the MACs still missing are handed out unclaimed.
   */
  async assign(
    req: AdmissionRequest,
    vm: VirtualMachine,
    namespaceLabels: Record<string, string> | undefined,
  ): Promise<Assigned> {
    const none: Assigned = { notes: [] };
    const namespace = vm.metadata?.namespace ?? req.namespace;
    const name = vm.metadata?.name ?? req.name;
    // A name that is no label value cannot label its claims; the CRD's rule refuses it anyway.
    if (!namespace || !name || name.length > 63) return none;
    const spec = vm.spec;
    if (!spec.network?.interfaces?.length)
      spec.network = { ...spec.network, interfaces: [{ name: DEFAULT_INTERFACE }] };
    const interfaces = spec.network.interfaces as Interface[];
    const old = (req.oldObject as VirtualMachine | undefined)?.spec?.network?.interfaces;
    const networks = await this.networks(interfaces);
    const [notOffered] = namespaceDenials(interfaces, old, namespace, namespaceLabels, networks);
    if (notOffered) return { denial: notOffered, notes: [] };
    const hasPool = (n: string): boolean => !!staticPoolOf(networks.get(n));
    const work = interfacesToClaim(interfaces, old, hasPool);
    if (!work.length) return none;
    const podOnly = mayAssignUnclaimed(work, networks);
    const rest = podOnly ? this.quick : this.rest;
    try {
      const r: Request = {
        rest,
        me: { namespace, name },
        dryRun: req.dryRun === true,
        networks,
        own: await this.list(rest, {
          [NetworkAddressLabels.vmNamespace]: namespace,
          [NetworkAddressLabels.vmName]: name,
        }),
        created: [],
      };
      for (const { index, iface } of work) {
        const denial =
          (await this.mac(r, index, iface, interfaces)) ?? (await this.ip(r, index, iface));
        if (denial) {
          await Promise.all(r.created.map((c) => this.remove(rest, c)));
          return { denial, notes: [] };
        }
      }
      return none;
    } catch (e) {
      if (!podOnly || !unreachable(e)) throw e;
      return { notes: this.unclaimed(work, interfaces, e) };
    }
  }

  /**
   * Hands a MAC from vmplane's range to every pod-network interface still without one, unclaimed;
   * those claimed before the API server went quiet keep theirs. Returns the decision log's notes.
   */
  private unclaimed(
    work: readonly { iface: Interface }[],
    all: readonly Interface[],
    why: unknown,
  ): string[] {
    const inSpec = new Set(all.flatMap((i) => (i.macAddress ? [normalizeMac(i.macAddress)] : [])));
    return work.flatMap(({ iface }) => {
      if (iface.macAddress) return [];
      let mac = randomMac(this.random);
      while (inSpec.has(mac)) mac = randomMac(this.random);
      inSpec.add(mac);
      iface.macAddress = mac;
      return [
        `interface ${iface.name}: MAC ${mac} handed out unclaimed on the pod network (${(why as Error)?.message ?? String(why)})`,
      ];
    });
  }

  /**
   * The validating side: Networks whose namespaceSelector leaves out the VM's namespace, and a
   * second interface on the pod network through a Network of type Pod.
   */
  async checkNamespaces(
    req: AdmissionRequest,
    vm: VirtualMachine,
    namespaceLabels: Record<string, string> | undefined,
  ): Promise<Denial[]> {
    const namespace = vm.metadata?.namespace ?? req.namespace ?? '';
    const interfaces = vm.spec?.network?.interfaces ?? [];
    const old = (req.oldObject as VirtualMachine | undefined)?.spec?.network?.interfaces;
    if (!interfaces.some((i) => i.network)) return [];
    const networks = await this.networks(interfaces);
    return [
      ...namespaceDenials(interfaces, old, namespace, namespaceLabels, networks),
      ...podNetworkDenials(interfaces, networks),
    ];
  }

  private async networks(
    interfaces: readonly Interface[],
  ): Promise<Map<string, Network | undefined>> {
    const names = [...new Set(interfaces.flatMap((i) => (i.network ? [i.network] : [])))];
    const found = await Promise.all(
      names.map((n) => getLive<Network>(this.rest, `${API}/networks/${encodeURIComponent(n)}`)),
    );
    return new Map(names.map((n, k) => [n, found[k]]));
  }

  private async list(rest: KubeRest, labels: Record<string, string>): Promise<NetworkAddress[]> {
    const selector = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const { body } = await rest.request<{ items: NetworkAddress[] }>(
      'GET',
      `${ADDRESSES}?labelSelector=${encodeURIComponent(selector)}`,
    );
    return body.items ?? [];
  }

  private async mac(
    r: Request,
    index: number,
    iface: Interface,
    all: readonly Interface[],
  ): Promise<Denial | undefined> {
    if (iface.macAddress) {
      const c = await this.claim(r, iface, 'MAC', normalizeMac(iface.macAddress));
      return c.ok ? undefined : macTaken(index, iface.macAddress, c.existing);
    }
    const inSpec = new Set(all.flatMap((i) => (i.macAddress ? [normalizeMac(i.macAddress)] : [])));
    const mine = r.own.find(
      (c) =>
        c.spec.kind === 'MAC' && c.spec.vm.interface === iface.name && !inSpec.has(c.spec.address),
    );
    if (mine && (await this.claim(r, iface, 'MAC', mine.spec.address)).ok) {
      iface.macAddress = mine.spec.address;
      return undefined;
    }
    for (let k = 0; k < MAC_ATTEMPTS; k++) {
      const candidate = randomMac(this.random);
      if (inSpec.has(candidate)) continue;
      const c = await this.claim(r, iface, 'MAC', candidate);
      if (c.ok) {
        iface.macAddress = candidate;
        return undefined;
      }
    }
    throw new Error(`no free MAC address found in ${MAC_ATTEMPTS} attempts; try again`);
  }

  private async ip(r: Request, index: number, iface: Interface): Promise<Denial | undefined> {
    const network = iface.network ? r.networks.get(iface.network) : undefined;
    const given = checkGivenIp(index, iface, network);
    if (given) return given;
    const pool = staticPoolOf(network);
    if (!pool || !iface.network) return undefined;
    if (iface.ipAddress) {
      const c = await this.claim(r, iface, 'IP', iface.ipAddress);
      return c.ok ? undefined : ipTaken(index, iface.ipAddress, c.existing);
    }
    const mine = r.own.find(
      (c) =>
        c.spec.kind === 'IP' &&
        c.spec.network === iface.network &&
        c.spec.vm.interface === iface.name,
    );
    if (mine && (await this.claim(r, iface, 'IP', mine.spec.address)).ok) {
      iface.ipAddress = mine.spec.address;
      return undefined;
    }
    let taken = new Set<string>();
    for (let k = 0; k < IP_ATTEMPTS; k++) {
      // Re-list now and then: other admissions free and take addresses meanwhile.
      if (k % 8 === 0) {
        const held = await this.list(r.rest, { [NetworkAddressLabels.network]: iface.network });
        taken = new Set(held.filter((c) => c.spec.kind === 'IP').map((c) => c.spec.address));
      }
      const candidate = pickFreeIp(pool, taken, this.random);
      if (!candidate)
        return poolExhausted(index, exhaustedMessage(iface.network, pool, taken.size));
      const c = await this.claim(r, iface, 'IP', candidate);
      if (c.ok) {
        iface.ipAddress = candidate;
        return undefined;
      }
      taken.add(candidate);
    }
    throw new Error(
      `no free address of network "${iface.network}" claimed in ${IP_ATTEMPTS} attempts; try again`,
    );
  }

  /** Claims one address: created (or, on a dry run, found free), this VM's own, or held. */
  private async claim(
    r: Request,
    iface: Interface,
    kind: 'MAC' | 'IP',
    address: string,
  ): Promise<Claimed> {
    const network = kind === 'IP' ? (iface.network ?? '') : undefined;
    const name = kind === 'MAC' ? macClaimName(address) : ipClaimName(network ?? '', address);
    for (let k = 0; k < 3; k++) {
      const existing = r.dryRun
        ? { found: await getLive<NetworkAddress>(r.rest, `${ADDRESSES}/${name}`) }
        : await this.create(r.rest, name, kind, address, network, r.me, iface.name);
      if ('created' in existing || (r.dryRun && !existing.found)) {
        if (!r.dryRun) r.created.push(name);
        return { ok: true };
      }
      // Taken, then deleted before it could be read: create again.
      if (!existing.found) continue;
      const found = existing.found;
      const holder = await this.vm(r.rest, found.spec.vm);
      const verdict = claimVerdict(found, r.me, holder, this.clock());
      if (verdict === 'held') return { ok: false, existing: found };
      if (r.dryRun) return { ok: true };
      // Handed out again: the write stops a release decided before it (gone: claim it anew).
      if (verdict === 'mine') {
        if (await this.touch(r.rest, name)) return { ok: true };
        continue;
      }
      await this.remove(r.rest, name, found.metadata);
    }
    throw new Error(
      `could not claim ${kind} address ${address}: its claim changed while being taken over; try again`,
    );
  }

  /** Creates the claim, or reads the one in the way (none: it went away meanwhile). */
  private async create(
    rest: KubeRest,
    name: string,
    kind: 'MAC' | 'IP',
    address: string,
    network: string | undefined,
    me: VmRef,
    iface: string,
  ): Promise<{ created: true } | { found: NetworkAddress | undefined }> {
    const body = {
      apiVersion: `${GROUP}/v1alpha1`,
      kind: 'NetworkAddress',
      metadata: {
        name,
        labels: {
          'app.kubernetes.io/managed-by': 'vmplane',
          [NetworkAddressLabels.vmNamespace]: me.namespace,
          [NetworkAddressLabels.vmName]: me.name,
          ...(network ? { [NetworkAddressLabels.network]: network } : {}),
        },
      },
      spec: { kind, address, ...(network ? { network } : {}), vm: { ...me, interface: iface } },
    };
    try {
      await rest.request('POST', ADDRESSES, { body });
      return { created: true };
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 409)) throw e;
      return { found: await getLive<NetworkAddress>(rest, `${ADDRESSES}/${name}`) };
    }
  }

  private vm(rest: KubeRest, ref: VmRef): Promise<VirtualMachine | undefined> {
    return getLive<VirtualMachine>(
      rest,
      `${API}/namespaces/${encodeURIComponent(ref.namespace)}/virtualmachines/${encodeURIComponent(ref.name)}`,
    );
  }

  /**
   * Marks this VM's own claim as handed out now and no longer bound to an earlier VM of that name;
   * false when it is gone.
   */
  private async touch(rest: KubeRest, name: string): Promise<boolean> {
    try {
      await rest.request('PATCH', `${ADDRESSES}/${name}`, {
        body: {
          metadata: { annotations: { [CLAIMED_AT]: this.clock().toISOString(), [BOUND_TO]: null } },
        },
        contentType: 'application/merge-patch+json',
      });
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return false;
      throw e;
    }
  }

  /**
   * Deletes a claim (best effort; a stale one taken over only as it was read: same UID and
   * resourceVersion).
   */
  private async remove(
    rest: KubeRest,
    name: string,
    seen?: { uid?: string; resourceVersion?: string },
  ): Promise<void> {
    const preconditions = { uid: seen?.uid, resourceVersion: seen?.resourceVersion };
    try {
      await rest.request('DELETE', `${ADDRESSES}/${name}`, {
        ...(seen ? { body: { preconditions } } : {}),
      });
    } catch {
      // A claim left behind is swept by the controller once its VM is known not to carry it.
    }
  }
}

/** An error that says the API server was not reached or did not answer, not that it refused. */
function unreachable(e: unknown): boolean {
  if (e instanceof RequestTimeout) return true;
  if (e instanceof ApiError) return e.code === 503 || e.code === 504;
  // A socket's own failure (refused, reset, unreachable) carries a system error code.
  return typeof (e as { code?: unknown })?.code === 'string';
}
