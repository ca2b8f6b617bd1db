// `kubectl vm evacuate NODE [--wait]` and `kubectl vm uncordon NODE`: a node drain for VMs, as
// `kubectl drain` is for Pods. The node is cordoned and given KubeVirt's drain taint
// (kubevirt.io/drain:NoSchedule), on which KubeVirt's evacuation controller live-migrates every
// instance whose eviction strategy is LiveMigrate (or LiveMigrateIfPossible and LiveMigratable);
// the others are stopped, as a drain would evict them: a vmplane VM by its powerState, a KubeVirt
// VM of no vmplane VM through KubeVirt's stop. A LiveMigrate VM that cannot migrate holds the
// drain, as KubeVirt's eviction webhook would, and is named. --wait returns once the node is empty.
import type { Argv } from 'yargs';
import { Labels } from '../../../api/src/wellknown.ts';
import {
  clusterOptions,
  VMPLANE,
  withCluster,
  type ClusterContext,
  type ClusterOptions,
} from './cluster.ts';
import { parseDuration } from './power.ts';

export const DRAIN_TAINT = { key: 'kubevirt.io/drain', value: 'draining', effect: 'NoSchedule' };

export interface Instance {
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  spec: { evictionStrategy?: string };
  status?: {
    nodeName?: string;
    phase?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export type Step =
  | { vm: string; namespace: string; action: 'migrate' }
  | { vm: string; namespace: string; action: 'stop'; owner: 'vmplane' | 'kubevirt'; why: string }
  | { vm: string; namespace: string; action: 'blocked'; why: string };

/** What the drain does with each instance running on the node (pure). */
export function evacuationPlan(
  instances: readonly Instance[],
  node: string,
  clusterDefault: string | undefined,
): Step[] {
  return instances
    .filter((i) => i.status?.nodeName === node && i.status.phase === 'Running')
    .map((i): Step => {
      const at = { vm: i.metadata.name, namespace: i.metadata.namespace };
      const strategy = i.spec.evictionStrategy ?? clusterDefault ?? 'None';
      const migratable = i.status?.conditions?.find((c) => c.type === 'LiveMigratable');
      const can = migratable?.status === 'True';
      const owner = i.metadata.labels?.[Labels.vm] ? ('vmplane' as const) : ('kubevirt' as const);
      if (strategy === 'LiveMigrate')
        return can
          ? { ...at, action: 'migrate' }
          : {
              ...at,
              action: 'blocked',
              why: `evictionStrategy LiveMigrate, but it cannot live-migrate (${migratable?.reason ?? 'LiveMigratable unknown'}${migratable?.message ? `: ${migratable.message}` : ''})`,
            };
      if (strategy === 'LiveMigrateIfPossible' && can) return { ...at, action: 'migrate' };
      return {
        ...at,
        action: 'stop',
        owner,
        why:
          strategy === 'LiveMigrateIfPossible'
            ? `evictionStrategy LiveMigrateIfPossible and it cannot live-migrate (${migratable?.reason ?? 'unknown'})`
            : `evictionStrategy ${strategy}`,
      };
    });
}

interface NodeObj {
  metadata: { name: string; resourceVersion?: string };
  spec?: { unschedulable?: boolean; taints?: { key: string; value?: string; effect: string }[] };
}

/** The node's spec with (or without) the cordon and the drain taint (pure). */
export function drainSpec(n: NodeObj, on: boolean): NonNullable<NodeObj['spec']> {
  const others = (n.spec?.taints ?? []).filter((t) => t.key !== DRAIN_TAINT.key);
  return { unschedulable: on, taints: on ? [...others, DRAIN_TAINT] : others };
}

async function setDrain(ctx: ClusterContext, node: string, on: boolean): Promise<void> {
  const n = (await ctx.rest.request<NodeObj>('GET', `/api/v1/nodes/${node}`)).body;
  await ctx.rest.request('PATCH', `/api/v1/nodes/${node}`, {
    body: { metadata: { resourceVersion: n.metadata.resourceVersion }, spec: drainSpec(n, on) },
    contentType: 'application/merge-patch+json',
  });
}

const INSTANCES = '/apis/kubevirt.io/v1/virtualmachineinstances';

async function stopOne(ctx: ClusterContext, s: Extract<Step, { action: 'stop' }>): Promise<void> {
  if (s.owner === 'vmplane')
    await ctx.rest.request(
      'PATCH',
      `${VMPLANE}/namespaces/${s.namespace}/virtualmachines/${s.vm}`,
      {
        body: { spec: { powerState: 'PoweredOff' } },
        contentType: 'application/merge-patch+json',
      },
    );
  else
    await ctx.rest.request(
      'PUT',
      `/apis/subresources.kubevirt.io/v1/namespaces/${s.namespace}/virtualmachines/${s.vm}/stop`,
      { body: {} },
    );
}

async function evacuate(
  ctx: ClusterContext,
  node: string,
  o: { wait: boolean; timeout: string },
): Promise<void> {
  await setDrain(ctx, node, true);
  process.stdout.write(
    `node/${node} cordoned and tainted ${DRAIN_TAINT.key}:${DRAIN_TAINT.effect}\n`,
  );
  const kv = await ctx.rest
    .request<{ items: { spec?: { configuration?: { evictionStrategy?: string } } }[] }>(
      'GET',
      '/apis/kubevirt.io/v1/kubevirts',
    )
    .then((r) => r.body.items[0]?.spec?.configuration?.evictionStrategy)
    .catch(() => undefined);
  const list = async (): Promise<Instance[]> =>
    (await ctx.rest.request<{ items: Instance[] }>('GET', INSTANCES)).body.items;
  const plan = evacuationPlan(await list(), node, kv);
  for (const s of plan) {
    const name = `${s.namespace}/${s.vm}`;
    if (s.action === 'migrate') process.stdout.write(`${name}: live-migrating off the node\n`);
    else if (s.action === 'blocked') process.stdout.write(`${name}: stays, ${s.why}\n`);
    else {
      await stopOne(ctx, s);
      process.stdout.write(`${name}: stopping (${s.why})\n`);
    }
  }
  if (!o.wait) return;
  const deadline = Date.now() + parseDuration(o.timeout);
  for (;;) {
    const left = evacuationPlan(await list(), node, kv);
    if (!left.length) {
      process.stdout.write(`node/${node} evacuated: no VM runs on it\n`);
      return;
    }
    if (left.every((s) => s.action === 'blocked') || Date.now() > deadline) {
      process.stderr.write(
        `error: node/${node} still runs ${left.map((s) => `${s.namespace}/${s.vm}`).join(', ')}${Date.now() > deadline ? ` after ${o.timeout}` : ''}\n`,
      );
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

export function registerEvacuateCommands(program: Argv): void {
  program
    .command(
      'evacuate <node>',
      'Drain a node of VMs: cordon it, live-migrate the VMs whose eviction strategy allows it, stop the others.',
      (c: Argv) =>
        clusterOptions(c)
          .positional('node', { type: 'string', demandOption: true, describe: 'the node' })
          .option('wait', {
            type: 'boolean',
            default: false,
            describe: 'return once no VM runs on the node',
          })
          .option('timeout', { type: 'string', default: '15m', describe: 'how long --wait waits' })
          .example('$0 evacuate node-2 --wait', 'empty node-2 before maintenance'),
      async (argv) => {
        const a = argv as unknown as ClusterOptions & {
          node: string;
          wait: boolean;
          timeout: string;
        };
        await withCluster(
          a,
          () => ({ verb: 'patch', resource: 'nodes', name: a.node }),
          (ctx) => evacuate(ctx, a.node, a),
        );
      },
    )
    .command(
      'uncordon <node>',
      'Take a node back after evacuate: schedulable again, the drain taint removed.',
      (c: Argv) =>
        clusterOptions(c).positional('node', {
          type: 'string',
          demandOption: true,
          describe: 'the node',
        }),
      async (argv) => {
        const a = argv as unknown as ClusterOptions & { node: string };
        await withCluster(
          a,
          () => ({ verb: 'patch', resource: 'nodes', name: a.node }),
          async (ctx) => {
            await setDrain(ctx, a.node, false);
            process.stdout.write(`node/${a.node} uncordoned\n`);
          },
        );
      },
    );
}
