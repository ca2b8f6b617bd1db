// The controllers (BENCH_ONLY=controllers): the production bundle's controllers converge N VMs
// against KubeVirt's CRDs, beside a plain client creating the same VMs and writing what the
// controllers wrote; and their memory with many VMs in the informer caches.
import type { ChildProcess } from 'node:child_process';
import type { KubernetesObject } from '@kubernetes/client-node';
import { kubeConfigFrom } from '../kube/src/client.ts';
import { ResilientInformer } from '../kube/src/informer.ts';
import type { KubeObjectLike, KubeRest } from '../kube/src/rest.ts';
import { deployKubeVirt, installEngineCrds } from '../test/support/kubevirt.ts';
import { createNamespace, createVms } from './cluster.ts';
import { mustSucceed, round, timed } from './measure.ts';
import { rssMb, startBundle, stop } from './processes.ts';
import { registerWebhooks } from './registration.ts';

type WithConditions = KubernetesObject & {
  status?: { conditions?: { type: string; status: string }[] };
};

/** Resolves once n VMs in the namespace say EngineAvailable and n KubeVirt VMs exist, told by watches (no relisting under load). */
async function watchConvergence(
  kubeconfig: string,
  ns: string,
  n: number,
): Promise<{ converged: Promise<void>; stop: () => Promise<void> }> {
  const kc = kubeConfigFrom(kubeconfig);
  const vms = new ResilientInformer<WithConditions>(kc, {
    path: `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines`,
  });
  const engine = new ResilientInformer<KubernetesObject>(kc, {
    path: `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`,
  });
  const ready = new Set<string>();
  const exist = new Set<string>();
  let done: () => void = () => undefined;
  const converged = new Promise<void>((r) => (done = r));
  const check = (): void => {
    if (ready.size === n && exist.size === n) done();
  };
  const onVm = (o: WithConditions): void => {
    const name = o.metadata?.name ?? '';
    if (o.status?.conditions?.some((c) => c.type === 'EngineAvailable' && c.status === 'True'))
      ready.add(name);
    else ready.delete(name);
    check();
  };
  vms.on('add', onVm);
  vms.on('update', onVm);
  vms.on('delete', (o) => ready.delete(o.metadata?.name ?? ''));
  engine.on('add', (o) => {
    exist.add(o.metadata?.name ?? '');
    check();
  });
  engine.on('delete', (o) => exist.delete(o.metadata?.name ?? ''));
  await Promise.all([vms.start(), engine.start()]);
  return { converged, stop: () => Promise.all([vms.stop(), engine.stop()]).then(() => undefined) };
}

type Timed = Awaited<ReturnType<typeof timed>>;

/**
 * N VMs created twice: by a plain client into floorNs (the floor, no webhooks), then through
 * vmplane's webhooks into ns, which stay registered until the controllers have converged.
 */
async function createTwice(
  kubeconfig: string,
  rest: KubeRest,
  n: number,
  ns: string,
  floorNs: string,
): Promise<{ floor: Timed; viaWebhooks: Timed; unregister: () => Promise<void> }> {
  for (const name of [ns, floorNs]) await createNamespace(rest, name);
  const floor = mustSucceed(
    `controllers: ${n} VM creates (floor)`,
    await createVms(rest, n, floorNs),
  );
  const { unregister } = await registerWebhooks(kubeconfig, rest);
  const viaWebhooks = await createVms(rest, n, ns);
  try {
    mustSucceed(`controllers: ${n} VM creates through the webhooks`, viaWebhooks);
  } catch (e) {
    await unregister();
    throw e;
  }
  return { floor, viaWebhooks, unregister };
}

/** The controllers started on the namespace, and the seconds until its n VMs converged. */
async function converge(
  kubeconfig: string,
  ns: string,
  n: number,
): Promise<{ child: ChildProcess; seconds: number }> {
  const watch = await watchConvergence(kubeconfig, ns, n);
  const t0 = performance.now();
  const child = startBundle('controllers', {
    KUBECONFIG: kubeconfig,
    VMPLANE_LEADER_ELECT: 'false',
    VMPLANE_SCOPE_NAMESPACES: ns,
    VMPLANE_AUDIT: 'false',
  });
  await watch.converged;
  const seconds = (performance.now() - t0) / 1000;
  await watch.stop();
  return { child, seconds };
}

async function list<T>(rest: KubeRest, path: string): Promise<T[]> {
  return (await rest.request<{ items: T[] }>('GET', path)).body.items;
}

/** The same writes by a plain client: what the controllers wrote in ns, written to the floor's VMs. */
async function sameWrites(rest: KubeRest, n: number, ns: string, floorNs: string): Promise<Timed> {
  const kv = await list<KubeObjectLike>(
    rest,
    `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`,
  );
  const ours = await list<{ metadata: { name: string }; status?: unknown }>(
    rest,
    `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines`,
  );
  const writes = await timed(n, 16, async (i) => {
    const k = kv[i] as KubeObjectLike & { spec?: unknown };
    await rest.apply(
      {
        apiVersion: k.apiVersion,
        kind: k.kind,
        metadata: { name: k.metadata.name, namespace: floorNs, labels: k.metadata.labels ?? {} },
        spec: k.spec,
      } as never,
      { fieldManager: 'bench' },
    );
    const o = ours[i];
    await rest.request(
      'PATCH',
      `/apis/vmplane.io/v1alpha1/namespaces/${floorNs}/virtualmachines/${o?.metadata.name}/status`,
      { body: { status: o?.status }, contentType: 'application/merge-patch+json' },
    );
  });
  return mustSucceed(`controllers: ${n} plain-client writes`, writes);
}

/** One size's row of the table (printed too), with the controllers' RSS now. */
function sizeRow(
  n: number,
  creates: { floor: Timed; viaWebhooks: Timed },
  converged: { child: ChildProcess; seconds: number },
  writes: Timed,
): Record<string, number> {
  const s1 = (x: number): number => round(x, 1);
  const converge = converged.seconds;
  const row = {
    vms: n,
    floorSeconds: s1(creates.floor.seconds),
    viaWebhooksSeconds: s1(creates.viaWebhooks.seconds),
    convergeSeconds: s1(converge),
    ratio: round(converge / creates.floor.seconds, 2),
    sameWritesSeconds: s1(writes.seconds),
    ratioToSameWrites: round(converge / writes.seconds, 2),
    rssMb: rssMb(converged.child.pid ?? 0),
  };
  console.log(
    `controllers ${n} VMs: plain client creates ${row.floorSeconds} s (through webhooks ${row.viaWebhooksSeconds} s); converged in ${row.convergeSeconds} s (ratio ${row.ratio}); ` +
      `the same writes by a plain client ${row.sameWritesSeconds} s (ratio ${row.ratioToSameWrites}); RSS ${row.rssMb} MB`,
  );
  return row;
}

/**
 * Memory with rssVms VMs in the caches: fill up to that many (outside the reconciled scope), then
 * read the last controllers' RSS and stop them (SIGTERM: a profile is written as they exit).
 */
async function rssWithCaches(
  rest: KubeRest,
  rssVms: number,
  created: number,
  last: ChildProcess | undefined,
): Promise<{ vmsCached: number; rssMb: number }> {
  const extra = Math.max(0, rssVms - created);
  if (extra > 0) {
    await createNamespace(rest, 'ctl-cache');
    await createVms(rest, extra, 'ctl-cache');
  }
  await new Promise((r) => setTimeout(r, 5000)); // let the watches deliver them
  const rss = last?.pid ? rssMb(last.pid) : 0;
  console.log(`controllers RSS with ${Math.max(rssVms, created)} VMs cached: ${rss} MB`);
  if (last) await stop(last);
  return { vmsCached: Math.max(rssVms, created), rssMb: rss };
}

/**
 * Controllers. For each size N, three figures from the same API server:
 * - floor: a plain client creates N VMs (no webhooks), the baseline;
 * - the controllers (production bundle, own process) converge N VMs created through vmplane's
 *   webhooks, as in a cluster where vmplane is installed: time from process start until every
 *   KubeVirt VM exists and every VM's status says the engine has it;
 * - the same writes by a plain client: the N KubeVirt VMs and N statuses the controllers wrote,
 *   written again to the floor's VMs (what converging costs the API server, with no controller).
 * RSS is read with all VMs of the run (and more, up to rssVms) in the informer caches.
 */
export async function controllers(
  kubeconfig: string,
  rest: KubeRest,
  sizes: number[],
  rssVms: number,
): Promise<Record<string, unknown>> {
  await installEngineCrds(kubeConfigFrom(kubeconfig));
  await deployKubeVirt(kubeConfigFrom(kubeconfig));
  const rows: Record<string, number>[] = [];
  let last: ChildProcess | undefined;
  let created = 0;
  for (const n of sizes) {
    const ns = `ctl-${n}`;
    const floorNs = `ctl-${n}-floor`;
    const creates = await createTwice(kubeconfig, rest, n, ns, floorNs);
    created += 2 * n;
    last?.kill('SIGKILL');
    const converged = await converge(kubeconfig, ns, n);
    last = converged.child;
    await creates.unregister();
    const writes = await sameWrites(rest, n, ns, floorNs);
    rows.push(sizeRow(n, creates, converged, writes));
  }
  return { rows, rss: await rssWithCaches(rest, rssVms, created, last) };
}
