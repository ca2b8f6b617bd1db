// `kubectl vm migrate NAME [--to-node N] [--wait]` and `kubectl vm migrate-cancel NAME`: a live
// migration through KubeVirt's `migrate` subresource (virt-api makes the
// VirtualMachineInstanceMigration; --to-node becomes its addedNodeSelector on the node's hostname
// label), its phases followed with --wait, and a running one cancelled by deleting its object, as
// `virtctl migrate-cancel` does.
import type { Argv } from 'yargs';
import { ApiError } from '../../../kube/src/rest.ts';
import {
  clusterOptions,
  fail,
  withCluster,
  type ClusterContext,
  type ClusterOptions,
} from './cluster.ts';
import { parseDuration } from './power.ts';
import { getVm } from './vm.ts';

const SUBRESOURCES = '/apis/subresources.kubevirt.io/v1';
const migrationsPath = (ns: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstancemigrations`;

export interface Migration {
  metadata: { name: string; creationTimestamp?: string; deletionTimestamp?: string };
  spec: { vmiName?: string };
  status?: {
    phase?: string;
    migrationState?: {
      sourceNode?: string;
      targetNode?: string;
      startTimestamp?: string;
      endTimestamp?: string;
      failureReason?: string;
      abortStatus?: string;
    };
  };
}

const FINAL = ['Succeeded', 'Failed'];

/** The VM's migrations not ended yet, newest first (pure). */
export function activeMigrations(list: readonly Migration[], vm: string): Migration[] {
  return list
    .filter((m) => m.spec.vmiName === vm && !FINAL.includes(m.status?.phase ?? ''))
    .sort((a, b) =>
      (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
    );
}

/** One line for a migration's phase as --wait prints it (pure). */
export function progressLine(vm: string, m: Migration): string {
  const s = m.status?.migrationState ?? {};
  const route = s.sourceNode ? ` ${s.sourceNode} -> ${s.targetNode ?? '?'}` : '';
  const phase = m.status?.phase ?? 'Pending';
  if (phase === 'Succeeded') {
    const took =
      s.startTimestamp && s.endTimestamp
        ? ` in ${Math.max(0, (Date.parse(s.endTimestamp) - Date.parse(s.startTimestamp)) / 1000)} s`
        : '';
    return `virtualmachine/${vm} migrated${route}${took} (${m.metadata.name})`;
  }
  if (phase === 'Failed')
    return `virtualmachine/${vm} migration ${m.metadata.name} failed${route}: ${s.failureReason ?? 'no reason given'}`;
  return `virtualmachine/${vm} migration ${m.metadata.name}: ${phase}${route}`;
}

/** The body of the migrate request: the target node as an added node selector (pure). */
export function migrateBody(toNode: string | undefined, dryRun: boolean): object {
  return {
    kind: 'MigrateOptions',
    apiVersion: 'kubevirt.io/v1',
    ...(dryRun ? { dryRun: ['All'] } : {}),
    ...(toNode ? { addedNodeSelector: { 'kubernetes.io/hostname': toNode } } : {}),
  };
}

async function listMigrations(ctx: ClusterContext): Promise<Migration[]> {
  return (await ctx.rest.request<{ items: Migration[] }>('GET', migrationsPath(ctx.namespace))).body
    .items;
}

/** A --to-node that names no node is refused before anything is asked (when nodes may be read). */
async function checkNode(ctx: ClusterContext, node: string): Promise<void> {
  const nodes = await ctx.rest
    .request<{ items: { metadata: { name: string } }[] }>('GET', '/api/v1/nodes')
    .then((r) => r.body.items.map((n) => n.metadata.name))
    .catch((e: unknown) => {
      // Users who may not list nodes still migrate: KubeVirt will say if no node fits.
      if (e instanceof ApiError && e.code === 403) return undefined;
      throw e;
    });
  if (nodes && !nodes.includes(node)) {
    process.stderr.write(
      `error: --to-node: node "${node}" does not exist; the nodes are: ${nodes.join(', ')}\n`,
    );
    ctx.rest.close();
    process.exit(1);
  }
}

async function migrate(
  ctx: ClusterContext,
  name: string,
  o: { toNode?: string; wait: boolean; timeout: string; dryRun: boolean },
): Promise<void> {
  await getVm(ctx, name);
  if (o.toNode) await checkNode(ctx, o.toNode);
  const before = new Set((await listMigrations(ctx)).map((m) => m.metadata.name));
  try {
    await ctx.rest.request(
      'PUT',
      `${SUBRESOURCES}/namespaces/${ctx.namespace}/virtualmachines/${name}/migrate`,
      { body: migrateBody(o.toNode, o.dryRun) },
    );
  } catch (e) {
    return fail(ctx, e, {
      verb: 'update',
      resource: 'virtualmachines/migrate',
      name,
      namespace: ctx.namespace,
    });
  }
  if (o.dryRun) {
    process.stdout.write(`virtualmachine/${name} would be migrated (dry run)\n`);
    return;
  }
  const mine = async (): Promise<Migration | undefined> =>
    (await listMigrations(ctx)).find(
      (m) => m.spec.vmiName === name && !before.has(m.metadata.name),
    );
  const made = await mine();
  process.stdout.write(
    `virtualmachine/${name} migration requested${o.toNode ? ` to node ${o.toNode}` : ''}${made ? ` (${made.metadata.name})` : ''}\n`,
  );
  if (!o.wait || !made) return;
  const deadline = Date.now() + parseDuration(o.timeout);
  let said = '';
  for (;;) {
    const m = (await listMigrations(ctx)).find((x) => x.metadata.name === made.metadata.name);
    if (!m) {
      process.stderr.write(`error: migration ${made.metadata.name} was deleted (cancelled)\n`);
      process.exit(1);
    }
    const line = progressLine(name, m);
    if (line !== said) process.stdout.write(`${line}\n`);
    said = line;
    if (m.status?.phase === 'Succeeded') return;
    if (m.status?.phase === 'Failed') process.exit(1);
    if (Date.now() > deadline) {
      process.stderr.write(
        `error: timed out after ${o.timeout} waiting for migration ${m.metadata.name}; it is ${m.status?.phase ?? 'Pending'}\n`,
      );
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function cancel(ctx: ClusterContext, name: string): Promise<void> {
  const active = activeMigrations(await listMigrations(ctx), name);
  if (!active.length) {
    process.stderr.write(`error: virtualmachine/${name} has no migration in progress\n`);
    process.exit(1);
  }
  for (const m of active) {
    await ctx.rest.request('DELETE', `${migrationsPath(ctx.namespace)}/${m.metadata.name}`);
    process.stdout.write(
      `virtualmachine/${name} migration ${m.metadata.name} cancelled (it was ${m.status?.phase ?? 'Pending'})\n`,
    );
  }
}

export function registerMigrateCommands(program: Argv): void {
  program
    .command(
      'migrate <name>',
      'Live-migrate a running VM to another node (KubeVirt migration).',
      (c: Argv) =>
        clusterOptions(c)
          .positional('name', { type: 'string', demandOption: true, describe: 'the VM' })
          .option('to-node', {
            type: 'string',
            describe: 'the node to migrate to (any other by default)',
          })
          .option('wait', {
            type: 'boolean',
            default: false,
            describe: 'print each phase and return once the migration succeeded or failed',
          })
          .option('timeout', { type: 'string', default: '10m', describe: 'how long --wait waits' })
          .option('dry-run', { type: 'boolean', default: false, describe: 'check, change nothing' })
          .example('$0 migrate web-1 -n demo --to-node node-2 --wait', 'move web-1 to node-2'),
      async (argv) => {
        const a = argv as unknown as ClusterOptions & {
          name: string;
          toNode?: string;
          wait: boolean;
          timeout: string;
          dryRun: boolean;
        };
        await withCluster(
          a,
          (ctx) => ({
            verb: 'create',
            resource: 'virtualmachineinstancemigrations',
            name: a.name,
            namespace: ctx.namespace,
          }),
          (ctx) => migrate(ctx, a.name, a),
        );
      },
    )
    .command(
      'migrate-cancel <name>',
      'Cancel the VM’s migration in progress (the guest stays where it runs).',
      (c: Argv) =>
        clusterOptions(c).positional('name', {
          type: 'string',
          demandOption: true,
          describe: 'the VM',
        }),
      async (argv) => {
        const a = argv as unknown as ClusterOptions & { name: string };
        await withCluster(
          a,
          (ctx) => ({
            verb: 'delete',
            resource: 'virtualmachineinstancemigrations',
            name: a.name,
            namespace: ctx.namespace,
          }),
          (ctx) => cancel(ctx, a.name),
        );
      },
    );
}
