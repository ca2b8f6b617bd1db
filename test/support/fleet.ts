// A fleet of VMs for scale tests and benchmarks: N VirtualMachines created through the real API
// server, each with the status a running engine would report (the test plays the engine), in a
// namespace no webhook or controller watches. Used by the 5,000-VM list screenshot and by
// `npm run bench`'s plugin render time.
import type { VirtualMachine } from '../../api/generated/types.ts';
import type { KubeRest } from '../../kube/src/rest.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';

const V = API_VERSION;
const CLASSES = [
  { name: 'small', cpus: 2, memory: '4Gi', reservation: 'BestEffort' as const },
  { name: 'medium', cpus: 4, memory: '8Gi', reservation: 'Guaranteed' as const },
  { name: 'large', cpus: 8, memory: '32Gi', reservation: 'Guaranteed' as const },
];
const STATES = [
  'Running',
  'Running',
  'Running',
  'Stopped',
  'Paused',
  'Starting',
  'ErrorUnschedulable',
] as const;

/** The i-th VM of a fleet: its object and the status the engine reports for it. */
export function fleetVm(
  namespace: string,
  i: number,
): { vm: VirtualMachine; status: NonNullable<VirtualMachine['status']> } {
  const cls = CLASSES[i % CLASSES.length]!;
  const state = STATES[i % STATES.length]!;
  const running = state === 'Running' || state === 'Paused';
  const name = `vm-${String(i).padStart(5, '0')}`;
  return {
    vm: {
      apiVersion: V,
      kind: 'VirtualMachine',
      metadata: { name, namespace, labels: { app: `app-${i % 40}` } },
      spec: {
        className: cls.name,
        image: { kind: 'ClusterVirtualMachineImage', name: i % 2 ? 'ubuntu-24.04' : 'rocky-9' },
        powerState:
          state === 'Stopped' ? 'PoweredOff' : state === 'Paused' ? 'Suspended' : 'PoweredOn',
      },
    },
    status: {
      phase: state === 'ErrorUnschedulable' ? 'Pending' : state,
      printableStatus: state,
      powerState:
        state === 'Stopped' ? 'PoweredOff' : state === 'Paused' ? 'Suspended' : 'PoweredOn',
      class: {
        name: cls.name,
        cpus: cls.cpus,
        memory: cls.memory,
        reservation: cls.reservation,
        generation: 1,
      },
      ...(running
        ? { nodeName: `node-${(i % 12) + 1}`, primaryIP: `10.244.${(i >> 8) & 255}.${i & 255}` }
        : {}),
    },
  };
}

/** Runs `task` over 0..n-1 with at most `concurrency` in flight. */
async function pool(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

/** Creates the namespace and `count` VMs with their status. */
export async function createFleet(
  rest: KubeRest,
  namespace: string,
  count: number,
  concurrency = 32,
): Promise<void> {
  await rest.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  const base = `/apis/${V}/namespaces/${namespace}/virtualmachines`;
  await pool(count, concurrency, async (i) => {
    const { vm, status } = fleetVm(namespace, i);
    await rest.request('POST', base, { body: vm });
    await rest.request('PATCH', `${base}/${vm.metadata.name}/status`, {
      body: { status },
      contentType: 'application/merge-patch+json',
    });
  });
}

/**
 * Deletes the fleet's VMs with one request and then the namespace. (The test control plane runs
 * no namespace controller, so deleting the namespace alone would leave the VMs in etcd.)
 */
export async function deleteFleet(rest: KubeRest, namespace: string): Promise<void> {
  await rest.request('DELETE', `/apis/${V}/namespaces/${namespace}/virtualmachines`);
  await rest.request('DELETE', `/api/v1/namespaces/${namespace}`).catch(() => undefined);
}
