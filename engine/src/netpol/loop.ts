// The engine's NetworkPolicy enforcement on informers: every change to a NetworkPolicy, a Pod, a
// Namespace or a VMI makes the whole table again (rules.ts) and loads it into the node namespace
// (NodeNetwork.nft). The pods are the engine's launcher pods with addresses (status.podIPs). Their
// labels are the VMI's, as KubeVirt copies them to virt-launcher; a named port is a port the VM's
// interfaces declare (spec.domain.devices.interfaces[].ports, which KubeVirt makes the compute
// container's ports), or a container port the pod itself declares.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ControllerDefinition, Manager } from '../../../kube/src/manager.ts';
import type { NodeNetwork } from '../network/node-network.ts';
import {
  networkPolicyRules,
  type NamespaceInfo,
  type NetworkPolicy,
  type PodInfo,
  type Protocol,
} from './rules.ts';
import { isIPv4 } from './selector.ts';

export const NETWORK_POLICIES = '/apis/networking.k8s.io/v1/networkpolicies';
const PODS = '/api/v1/pods';
const NAMESPACES = '/api/v1/namespaces';
const VMIS = '/apis/kubevirt.io/v1/virtualmachineinstances';
const KEY = 'netpol-table';

interface PodObject extends KubernetesObject {
  spec?: {
    containers?: { ports?: { name?: string; containerPort: number; protocol?: Protocol }[] }[];
  };
  status?: { podIP?: string; podIPs?: { ip: string }[]; phase?: string };
}
interface VmiObject extends KubernetesObject {
  spec?: {
    domain?: {
      devices?: {
        interfaces?: { ports?: { name?: string; port: number; protocol?: Protocol }[] }[];
      };
    };
  };
}

/** A launcher pod as the rules see it, with its VMI's labels and declared ports. */
export function podInfo(pod: PodObject, vmi: VmiObject | undefined): PodInfo {
  const ips = [
    ...new Set([pod.status?.podIP, ...(pod.status?.podIPs ?? []).map((p) => p.ip)]),
  ].filter((ip): ip is string => !!ip && isIPv4(ip));
  const fromPod = (pod.spec?.containers ?? []).flatMap((c) =>
    (c.ports ?? []).map((p) => ({
      name: p.name,
      port: p.containerPort,
      protocol: p.protocol ?? 'TCP',
    })),
  );
  const fromVmi = (vmi?.spec?.domain?.devices?.interfaces ?? []).flatMap((i) =>
    (i.ports ?? []).map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP' })),
  );
  const done = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    labels: { ...(vmi?.metadata?.labels ?? {}), ...(pod.metadata?.labels ?? {}) },
    ips: done ? [] : ips,
    ports: [...fromPod, ...fromVmi].map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      port: p.port,
      protocol: p.protocol,
    })),
  };
}

/** The table for what the informers hold now. */
export function currentRules(
  policies: readonly NetworkPolicy[],
  pods: readonly PodObject[],
  namespaces: readonly KubernetesObject[],
  vmis: readonly VmiObject[],
): string {
  const vmiOf = (p: PodObject): VmiObject | undefined => {
    const name = p.metadata?.labels?.['vm.kubevirt.io/name'];
    return vmis.find(
      (v) => v.metadata?.namespace === p.metadata?.namespace && v.metadata?.name === name,
    );
  };
  const ns: NamespaceInfo[] = namespaces.map((n) => ({
    name: n.metadata?.name ?? '',
    labels: n.metadata?.labels ?? {},
  }));
  return networkPolicyRules(
    policies,
    pods.map((p) => podInfo(p, vmiOf(p))),
    ns,
  );
}

/**
 * The controller to add to the engine's manager once its node network exists:
 * `manager.add(networkPolicyController(manager, network))`. One key: the table is made whole each time.
 */
export function networkPolicyController(
  manager: Manager,
  network: NodeNetwork,
): ControllerDefinition {
  const policies = manager.informer<NetworkPolicy & KubernetesObject>(NETWORK_POLICIES);
  const pods = manager.informer<PodObject>(PODS, { labelSelector: 'kubevirt.io=virt-launcher' });
  const namespaces = manager.informer<KubernetesObject>(NAMESPACES);
  const vmis = manager.informer<VmiObject>(VMIS);
  const key = (): string[] => [KEY];
  return {
    name: 'local-engine-netpol',
    concurrency: 1,
    watches: [
      { path: NETWORK_POLICIES, keys: key },
      { path: PODS, labelSelector: 'kubevirt.io=virt-launcher', keys: key },
      { path: NAMESPACES, keys: key },
      { path: VMIS, keys: key },
    ],
    allKeys: key,
    reconcile: async () => {
      await network.nft(currentRules(policies.list(), pods.list(), namespaces.list(), vmis.list()));
    },
  };
}
