// The Nodes the engine plays for the cluster: the nodes its guests run on (their launcher Pods'
// nodeName, the instances' nodeName, the volumes' node affinity, a claim's selected node). They
// are one machine's share each: every node reports the machine's capacity, they share its memory
// budget and its node network (one pod range), and each has a folder of its own.
// Registered as the kubelet registers it (pkg/kubelet/kubelet_node_status.go: the hostname label,
// capacity and allocatable, addresses) and kept Ready by a heartbeat, so kube-controller-manager's
// node lifecycle controller neither taints it nor evicts its Pods, and its pod garbage collector
// keeps Pods bound to it. A Node of that name the engine did not make is left alone.
import { POD_CIDR } from './network/plan.ts';
import { cpus, totalmem } from 'node:os';
import type { Manager } from '../../kube/src/manager.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { isNotFound } from '../../kube/src/rest.ts';
import { HOSTNAME_LABEL } from './storage/volume-file.ts';
import type { EngineNode } from './engine-context.ts';

export const NODES = '/api/v1/nodes';

/** KubeVirt's default node drain taint (migrations.nodeDrainTaintKey): its VMIs are evacuated. */
export const DRAIN_TAINT = 'kubevirt.io/drain';
/** The taint the API server puts on a new Node until it is Ready. */
const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';

export interface NodeObject {
  metadata?: { name?: string; resourceVersion?: string };
  spec?: { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[] };
}

/** Whether nothing new goes on the node: cordoned, or tainted NoSchedule or NoExecute (pure). */
export const unschedulable = (n: NodeObject | undefined): boolean =>
  !!n?.spec?.unschedulable ||
  !!n?.spec?.taints?.some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');

/** Whether the node is being drained: it carries KubeVirt's drain taint (pure). */
export const draining = (n: NodeObject | undefined): boolean =>
  !!n?.spec?.taints?.some((t) => t.key === DRAIN_TAINT);

/** The well-known zone label (the scheduler's topology spread and the VM's placement use it). */
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

/** The engine's mark on what it made (api-server.ts's MANAGED_BY; not imported: it imports us). */
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'vmplane-local-engine' };

/** How often the Ready condition's heartbeat is written (the kubelet's default is 10 s). */
const HEARTBEAT_MS = 10_000;

export interface Machine {
  cpus: number;
  memoryBytes: number;
  arch: string;
}

export const thisMachine = (): Machine => ({
  cpus: cpus().length,
  memoryBytes: totalmem(),
  arch: process.arch === 'arm64' ? 'arm64' : 'amd64',
});

/** The labels a node is registered with (pure). */
export function nodeLabels(
  n: EngineNode,
  m: Pick<Machine, 'arch'> = thisMachine(),
): Record<string, string> {
  return {
    ...MANAGED_BY,
    [HOSTNAME_LABEL]: n.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': m.arch,
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': m.arch,
    ...(n.zone ? { [ZONE_LABEL]: n.zone } : {}),
  };
}

/** The Node object as registered (pure). */
export function nodeObject(n: EngineNode, m: Machine): object {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: n.name, labels: nodeLabels(n, m) },
    // The node network's pod range (network/plan.ts), as the node IPAM controller would set it.
    spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] },
  };
}

/** The Node's status as the kubelet would post it while it runs (pure). */
export function nodeStatus(node: string, m: Machine, now: Date, since: Date): object {
  const resources = {
    cpu: String(m.cpus),
    memory: `${Math.floor(m.memoryBytes / 1024)}Ki`,
    pods: '110',
  };
  return {
    capacity: resources,
    allocatable: resources,
    addresses: [
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: node },
    ],
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        message: "vmplane's local engine runs guests on this node",
        lastHeartbeatTime: now.toISOString(),
        lastTransitionTime: since.toISOString(),
      },
    ],
    nodeInfo: {
      architecture: m.arch,
      operatingSystem: 'linux',
      kubeletVersion: 'vmplane-local-engine',
      containerRuntimeVersion: 'qemu://local-engine',
      kernelVersion: '',
      osImage: '',
      kubeProxyVersion: '',
      bootID: '',
      machineID: '',
      systemUUID: '',
    },
  };
}

const isOurs = (n: { metadata?: { labels?: Record<string, string> } } | undefined): boolean =>
  n?.metadata?.labels?.['app.kubernetes.io/managed-by'] ===
  MANAGED_BY['app.kubernetes.io/managed-by'];

/** Registers the Node (unless one is there) and posts its status; false when it is not ours. */
export async function heartbeat(manager: Manager, n: EngineNode, since: Date): Promise<boolean> {
  const rest = manager.rest;
  const node = n.name;
  const path = `/api/v1/nodes/${node}`;
  let got = await getLive<NodeObject & { metadata?: { labels?: Record<string, string> } }>(
    rest,
    path,
  );
  if (!got)
    got = await rest
      .request<NodeObject>('POST', '/api/v1/nodes', { body: nodeObject(n, thisMachine()) })
      .then((r) => r.body)
      .catch((e) => {
        // Registered meanwhile (another engine on the same API server): read it next time.
        if ((e as { code?: number }).code === 409) return undefined;
        throw e;
      });
  if (!got || !isOurs(got)) return false;
  // The API server taints a new Node not-ready (TaintNodesByCondition); the node lifecycle
  // controller, which does not run here, takes the taint off once the node is Ready: the engine
  // does that part for its own nodes.
  const taints = got.spec?.taints ?? [];
  if (taints.some((t) => t.key === NOT_READY_TAINT))
    await rest
      .request('PATCH', path, {
        body: {
          metadata: { resourceVersion: got.metadata?.resourceVersion },
          spec: { taints: taints.filter((t) => t.key !== NOT_READY_TAINT) },
        },
        contentType: 'application/merge-patch+json',
      })
      .catch((e) => {
        // Changed meanwhile (a cordon, say): the next heartbeat looks again. (Before the status
        // is posted: that would change the resourceVersion this patch names.)
        if (!isNotFound(e) && (e as { code?: number }).code !== 409) throw e;
      });
  await rest
    .request('PATCH', `${path}/status`, {
      body: { status: nodeStatus(node, thisMachine(), new Date(), since) },
      contentType: 'application/merge-patch+json',
    })
    .catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  return true;
}

/** Keeps the Node registered and Ready while the engine leads. */
export function keepNode(manager: Manager, node: EngineNode): void {
  let timer: NodeJS.Timeout | undefined;
  const since = new Date();
  const beat = (): void => {
    heartbeat(manager, node, since).catch((e: Error) =>
      manager.log.warn({ err: e.message, node: node.name }, 'local engine: node heartbeat failed'),
    );
  };
  manager.whileLeading(
    () => {
      beat();
      timer = setInterval(beat, HEARTBEAT_MS);
      timer.unref();
    },
    () => clearInterval(timer),
  );
}
