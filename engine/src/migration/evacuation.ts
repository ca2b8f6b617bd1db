// KubeVirt's evacuation controller as the local engine plays it (pkg/virt-controller/watch/drain/
// evacuation): a node tainted with kubevirt.io/drain (kubectl vm evacuate, or an administrator)
// sees each of its running instances whose eviction strategy says so migrated away by a
// VirtualMachineInstanceMigration of its own (annotated kubevirt.io/evacuationMigration with the
// node), one at a time per instance; the instance says so in status.evacuationNodeName. Instances
// whose strategy is None (or LiveMigrateIfPossible without LiveMigratable) are left to the drain
// (kubectl vm evacuate stops them).
import { getLive } from '../../../kube/src/ownership.ts';
import { alive, keyOf, type EngineContext, type KvVmi } from '../engine-context.ts';
import { draining, NODES, type NodeObject } from '../node.ts';
import { VMIMS, type Vmim } from './run.ts';
import { finalPhase, type ClusterConfiguration, type EvictionStrategy } from './state.ts';

export type { EvictionStrategy };

/** The annotation KubeVirt puts on a migration the evacuation made: the node being drained. */
export const EVACUATION_ANNOTATION = 'kubevirt.io/evacuationMigration';
const RETRY_MS = 5_000;

/** Whether a drain moves the instance by live migration (pure). */
export function evacuatesByMigration(
  strategy: EvictionStrategy | undefined,
  liveMigratable: boolean,
): boolean {
  return strategy === 'LiveMigrate' || (strategy === 'LiveMigrateIfPossible' && liveMigratable);
}

/** The KubeVirt CR's configuration (the first one; none when KubeVirt is not deployed). */
export async function clusterConfiguration(ctx: EngineContext): Promise<ClusterConfiguration> {
  const list = await getLive<{ items: { spec?: { configuration?: ClusterConfiguration } }[] }>(
    ctx.manager.rest,
    '/apis/kubevirt.io/v1/kubevirts',
  ).catch(() => undefined);
  return list?.items[0]?.spec?.configuration ?? {};
}

/** The instance's evacuation: a migration made when its node drains and its strategy says so. */
export async function evacuate(
  ctx: EngineContext,
  key: string,
  vmi: KvVmi | undefined,
): Promise<{ requeueAfterMs: number } | undefined> {
  const r = ctx.running.get(key);
  if (!vmi || !r || !alive(r)) return undefined;
  const node = ctx.manager.informer(NODES).get(r.node) as NodeObject | undefined;
  if (!draining(node)) {
    delete r.evacuating;
    return undefined;
  }
  const strategy = vmi.spec.evictionStrategy ?? (await clusterConfiguration(ctx)).evictionStrategy;
  if (!evacuatesByMigration(strategy, r.migratable?.status === 'True')) return undefined;
  r.evacuating = r.node;
  const ns = vmi.metadata?.namespace ?? '';
  const name = vmi.metadata?.name ?? '';
  const pending = (ctx.manager.informer(VMIMS).list() as unknown as Vmim[]).some(
    (m) =>
      m.metadata?.namespace === ns &&
      m.spec.vmiName === name &&
      !m.metadata?.deletionTimestamp &&
      !finalPhase(m.status?.phase) &&
      r.lastMigration?.migrationUid !== m.metadata?.uid,
  );
  if (pending || (r.migration && !finalPhase(r.migration.phase)))
    return { requeueAfterMs: RETRY_MS };
  await ctx.manager.rest
    .request('POST', `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstancemigrations`, {
      body: {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstanceMigration',
        metadata: {
          generateName: `kubevirt-evacuation-`,
          namespace: ns,
          annotations: { [EVACUATION_ANNOTATION]: r.node },
        },
        spec: { vmiName: name },
      },
    })
    .catch((e: Error) =>
      ctx.manager.log.warn(
        { vm: keyOf(ns, name), err: e.message },
        'local engine: evacuation migration refused',
      ),
    );
  return { requeueAfterMs: RETRY_MS };
}
