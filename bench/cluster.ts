// What the benchmarks write to their API server besides the writes they measure, and the VM
// creates several of them measure: namespaces, N bench VMs by 16 concurrent clients, and the
// class, image and StorageClass of world.ts, the same objects the webhook benchmark's servers
// evaluate against.
import type { KubeRest } from '../kube/src/rest.ts';
import { timed } from './measure.ts';
import { benchVm, benchWorld } from './world.ts';

export async function createNamespace(
  rest: KubeRest,
  name: string,
  labels?: Record<string, string>,
): Promise<void> {
  await rest.create({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, ...(labels ? { labels } : {}) },
  });
}

/** vm-0 … vm-(n-1) in the namespace, created by 16 concurrent clients, each create timed. */
export function createVms(rest: KubeRest, n: number, namespace: string): ReturnType<typeof timed> {
  return timed(n, 16, (i) => rest.create(benchVm(`vm-${i}`, namespace) as never));
}

/** The cluster-scoped objects VMs refer to: class small, image ubuntu-24.04, StorageClass local. */
export async function createWorld(rest: KubeRest): Promise<void> {
  const world = benchWorld();
  const storageClasses = world.storageClasses.map((sc) => ({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    ...sc,
  }));
  for (const o of [...world.classes, ...world.clusterImages, ...storageClasses]) {
    await rest.create(o as never);
  }
}
