// Pure decisions of the address controller: when a NetworkAddress is let go, what a Network's
// status says of its pool, and the interfaces a VM's status lists whether it runs or not.
import type {
  Network,
  NetworkAddress,
  VirtualMachine,
  VirtualMachineStatus,
} from '../../../api/generated/types.ts';
import {
  boundTo,
  CLAIM_GRACE_MS,
  carries,
  claimAge,
  staticPoolOf,
} from '../../../decisions/src/network-claims.ts';
import { describeRanges, ipToInt, poolSize } from '../../../decisions/src/network-pool.ts';

export type Release =
  | { action: 'keep' }
  | { action: 'bind'; uid: string }
  | { action: 'wait'; afterMs: number }
  | { action: 'delete'; why: string };

/**
 * A claim stays while its VM carries the address, bound to that VM's UID once seen. Without that
 * (the VM is gone, or moved to another address), a bound claim is let go at once, an unbound one
 * once the grace period since it was last handed out is over: until then the admission that
 * handed it out may still be writing the VM.
 */
export function releaseDecision(
  claim: NetworkAddress,
  vm: VirtualMachine | undefined,
  now: Date,
): Release {
  if (vm && carries(vm, claim)) {
    const uid = (vm.metadata as { uid?: string } | undefined)?.uid;
    return uid && boundTo(claim) !== uid ? { action: 'bind', uid } : { action: 'keep' };
  }
  const age = claimAge(claim, now);
  if (!boundTo(claim) && age < CLAIM_GRACE_MS)
    return { action: 'wait', afterMs: CLAIM_GRACE_MS - age };
  const v = claim.spec.vm;
  return {
    action: 'delete',
    why: vm
      ? `VirtualMachine ${v.namespace}/${v.name} no longer carries ${claim.spec.address}`
      : `VirtualMachine ${v.namespace}/${v.name} is gone`,
  };
}

type Condition = NonNullable<NonNullable<Network['status']>['conditions']>[number];

/** Problems the CRD's CEL cannot see: a range that ends before it starts, a pool with no room. */
export function poolProblem(network: Network): string | undefined {
  const pool = staticPoolOf(network);
  if (!pool) return undefined;
  const bad = (pool.ranges ?? []).findIndex((r) => (ipToInt(r.start) ?? 0) > (ipToInt(r.end) ?? 0));
  if (bad >= 0) {
    const r = pool.ranges?.[bad];
    return `spec.ipam.staticPool.ranges[${bad}]: start ${r?.start} is after end ${r?.end}`;
  }
  if (poolSize(pool) === 0)
    return `spec.ipam.staticPool: no address to hand out in ${pool.cidr} (ranges ${describeRanges(pool) || 'empty'})`;
  return undefined;
}

/** The Network's status: its pool's usage and whether it is usable. */
export function networkStatus(
  network: Network,
  claims: readonly NetworkAddress[],
  condition: (c: Omit<Condition, 'lastTransitionTime'>) => Condition,
): NonNullable<Network['status']> {
  const generation = network.metadata?.generation ?? 0;
  const pool = staticPoolOf(network);
  const problem = poolProblem(network);
  const name = network.metadata?.name ?? '';
  const allocated = claims.filter((c) => c.spec.kind === 'IP' && c.spec.network === name).length;
  const size = pool ? poolSize(pool) : 0;
  const ready = condition({
    type: 'Ready',
    status: problem ? 'False' : 'True',
    reason: problem ? 'InvalidSpec' : 'Ready',
    message: problem
      ? `${problem}; fix the spec`
      : pool
        ? `${Math.max(size - allocated, 0)} of ${size} addresses free`
        : 'the network is usable',
    observedGeneration: generation,
  });
  return {
    ...network.status,
    observedGeneration: generation,
    conditions: [...(network.status?.conditions ?? []).filter((c) => c.type !== 'Ready'), ready],
    ...(pool ? { pool: { size, allocated, free: Math.max(size - allocated, 0) } } : {}),
  };
}

type StatusInterface = NonNullable<VirtualMachineStatus['interfaces']>[number];

/**
 * One status entry per spec interface (network, MAC and allocated IP from the spec, whether the
 * VM runs or not), with the addresses the engine observes on it; a VM without spec interfaces
 * keeps what the engine reports.
 */
export function statusInterfaces(
  vm: VirtualMachine,
  observed: readonly StatusInterface[] | undefined,
): StatusInterface[] | undefined {
  const spec = vm.spec.network?.interfaces ?? [];
  if (!spec.length) return observed?.length ? [...observed] : undefined;
  return spec.map((i) => {
    const seen = observed?.find((o) => o.name === i.name);
    const mac = i.macAddress ?? seen?.macAddress;
    return {
      name: i.name,
      ...(i.network ? { network: i.network } : {}),
      ...(mac ? { macAddress: mac } : {}),
      ...(i.ipAddress ? { ipAddress: i.ipAddress } : {}),
      ...(seen?.ipAddresses ? { ipAddresses: seen.ipAddresses } : {}),
    };
  });
}
