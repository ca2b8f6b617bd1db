// The address controllers: NetworkAddresses are let go when their VM is gone or no longer carries
// the address (a VM event, and every claim again on resync and after its grace period, for
// admissions that were refused after they claimed); each Network's status counts its pool.
// Decisions in addresses-decide.ts.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Network, NetworkAddress, VirtualMachine } from '../../../api/generated/types.ts';
import { NetworkAddressLabels } from '../../../api/src/v1alpha1/network.ts';
import { withTransitionTime } from '../../../kube/src/conditions.ts';
import type { ControllerDefinition, Manager } from '../../../kube/src/manager.ts';
import { writeStatus } from '../../../kube/src/objects.ts';
import { getLive } from '../../../kube/src/ownership.ts';
import { ApiError, isNotFound } from '../../../kube/src/rest.ts';
import { BOUND_TO } from '../../../decisions/src/network-claims.ts';
import { networkStatus, releaseDecision } from './addresses-decide.ts';

const API = '/apis/vmplane.io/v1alpha1';
export const NETWORKS = `${API}/networks`;
export const ADDRESSES = `${API}/networkaddresses`;
const VMS = `${API}/virtualmachines`;

type Claim = NetworkAddress & KubernetesObject;

const vmPath = (namespace: string, name: string): string =>
  `${API}/namespaces/${encodeURIComponent(namespace)}/virtualmachines/${encodeURIComponent(name)}`;

/** A claim is in scope when a VM of its namespace would be (tests share one API server). */
function claimInScope(manager: Manager, c: Claim | undefined): boolean {
  const ns = c?.spec?.vm?.namespace;
  return !!ns && manager.inScope({ metadata: { namespace: ns, name: c.spec.vm.name } });
}

export function addressController(manager: Manager): ControllerDefinition {
  const claims = manager.informer<Claim>(ADDRESSES);
  const vms = manager.informer<VirtualMachine & KubernetesObject>(VMS);
  const all = (): string[] =>
    claims
      .list()
      .filter((c) => claimInScope(manager, c))
      .map((c) => c.metadata?.name ?? '');
  const ofVm = (vm: KubernetesObject): string[] =>
    claims
      .list()
      .filter(
        (c) =>
          c.metadata?.labels?.[NetworkAddressLabels.vmNamespace] === vm.metadata?.namespace &&
          c.metadata?.labels?.[NetworkAddressLabels.vmName] === vm.metadata?.name,
      )
      .map((c) => c.metadata?.name ?? '');
  return {
    name: 'networkaddress',
    watches: [
      {
        path: ADDRESSES,
        keys: (o) => (claimInScope(manager, o as Claim) ? [o.metadata?.name ?? ''] : []),
      },
      { path: VMS, keys: (o) => (manager.inScope(o) ? ofVm(o) : []) },
    ],
    allKeys: all,
    concurrency: 4,
    reconcile: async (name) => {
      const claim = claims.get(name);
      if (!claim || !claimInScope(manager, claim)) return;
      const { namespace, name: vmName } = claim.spec.vm;
      const cached = vms.get(vmName, namespace) as VirtualMachine | undefined;
      let decision = releaseDecision(claim, cached, new Date());
      // Never let go on the cache's word alone: it may not have the VM just written yet.
      if (decision.action === 'delete')
        decision = releaseDecision(
          claim,
          await getLive<VirtualMachine>(manager.rest, vmPath(namespace, vmName)),
          new Date(),
        );
      if (decision.action === 'wait') return { requeueAfterMs: decision.afterMs + 1_000 };
      if (decision.action === 'keep') return;
      await (decision.action === 'bind'
        ? bind(manager, claim, decision.uid)
        : release(manager, claim));
    },
  };
}

/**
 * Writes the UID of the VM carrying the claim on it. The resourceVersion makes it conditional:
 * an admission that handed the claim out again meanwhile wins, and the claim is looked at again.
 */
async function bind(manager: Manager, claim: Claim, uid: string): Promise<void> {
  const name = claim.metadata?.name ?? '';
  try {
    await manager.rest.request('PATCH', `${ADDRESSES}/${encodeURIComponent(name)}`, {
      body: {
        metadata: {
          resourceVersion: claim.metadata?.resourceVersion,
          annotations: { [BOUND_TO]: uid },
        },
      },
      contentType: 'application/merge-patch+json',
    });
  } catch (e) {
    if (!isNotFound(e) && !(e instanceof ApiError && e.code === 409)) throw e;
  }
}

/**
 * Deletes the claim as it was decided on: same UID and resourceVersion, so a claim an admission
 * handed out again meanwhile (vmplane.io/claimed-at written) stays.
 */
async function release(manager: Manager, claim: Claim): Promise<void> {
  const name = claim.metadata?.name ?? '';
  try {
    await manager.rest.request('DELETE', `${ADDRESSES}/${encodeURIComponent(name)}`, {
      body: {
        preconditions: {
          uid: claim.metadata?.uid,
          resourceVersion: claim.metadata?.resourceVersion,
        },
      },
    });
  } catch (e) {
    // Gone already, or changed since (precondition): the watch brings it back if need be.
    if (!isNotFound(e) && !(e instanceof ApiError && e.code === 409)) throw e;
  }
}

export function networkController(manager: Manager): ControllerDefinition {
  const networks = manager.informer<Network & KubernetesObject>(NETWORKS);
  const claims = manager.informer<Claim>(ADDRESSES);
  const all = (): string[] =>
    networks
      .list()
      .filter((n) => manager.inScope(n))
      .map((n) => n.metadata?.name ?? '');
  return {
    name: 'network',
    watches: [
      { path: NETWORKS, keys: (o) => (manager.inScope(o) ? [o.metadata?.name ?? ''] : []) },
      {
        path: ADDRESSES,
        keys: (o) => {
          const n = (o as Claim).spec?.network;
          return n && manager.inScope(networks.get(n)) ? [n] : [];
        },
      },
    ],
    allKeys: all,
    reconcile: async (name) => {
      const network = networks.get(name) as Network | undefined;
      if (!network || !manager.inScope(network as KubernetesObject)) return;
      const held = claims
        .list()
        .filter((c) => c.metadata?.labels?.[NetworkAddressLabels.network] === name);
      const now = new Date().toISOString();
      const status = networkStatus(network, held, (c) =>
        withTransitionTime(network.status?.conditions, c, now),
      );
      await writeStatus(manager.rest, `${NETWORKS}/${name}`, network.status, status);
    },
  };
}
