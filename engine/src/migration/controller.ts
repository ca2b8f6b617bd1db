// The local engine's part of KubeVirt's migration controller (I/O): for an instance's
// VirtualMachineInstanceMigrations, in the order they were made, the finalizer and Pending phase,
// the checks (running, LiveMigratable, one migration at a time, the parallel limits), the target
// node (placement.ts, never the source), the run (run.ts), and a deleted migration's abort. Also
// the `migrate` subresource: virt-api's checks, then a migration object, as virt-api makes one.
import {
  alive,
  EngineError,
  keyOf,
  vmPath,
  vmiPath,
  type EngineContext,
  type KvVmi,
  type MigrateOptions,
} from '../engine-context.ts';
import { getLive } from '../../../kube/src/ownership.ts';
import { isNotFound, type ApiError } from '../../../kube/src/rest.ts';
import { placeOn, roomFor } from '../room.ts';
import { clusterConfiguration } from './evacuation.ts';
import {
  startMigration,
  MIGRATION_FINALIZER,
  VMIMS,
  vmimPath,
  writeMigration,
  type Vmim,
} from './run.ts';
import {
  finalPhase,
  matchPolicy,
  mayBegin,
  migrationConfiguration,
  migrationRefusal,
  type MigrationConfiguration,
  type MigrationPolicy,
} from './state.ts';

const POLICIES = '/apis/migrations.kubevirt.io/v1alpha1/migrationpolicies';
/** How long a migration may wait for a target node before it fails (KubeVirt's default). */
const UNSCHEDULABLE_TIMEOUT_MS = 300_000;
const RETRY_MS = 2_000;

/** The migrations of the instance of this name in the namespace, oldest first. */
function migrationsOf(ctx: EngineContext, ns: string, name: string): Vmim[] {
  return (ctx.manager.informer(VMIMS).list() as unknown as Vmim[])
    .filter((m) => m.metadata?.namespace === ns && m.spec.vmiName === name)
    .sort(
      (a, b) =>
        (a.metadata?.creationTimestamp ?? '').localeCompare(b.metadata?.creationTimestamp ?? '') ||
        (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
    );
}

/** The controller's keys for a migration: its instance's. */
export const migrationKeys = (m: Vmim): string[] =>
  m.metadata?.namespace && m.spec?.vmiName ? [keyOf(m.metadata.namespace, m.spec.vmiName)] : [];

/** The label KubeVirt's migration mutator puts on every migration (virtctl migrate-cancel lists by it). */
const VMI_NAME_LABEL = 'kubevirt.io/vmi-name';

/** The migration's finalizers set, with its instance's name label as KubeVirt's mutator adds it. */
async function setFinalizers(ctx: EngineContext, m: Vmim, finalizers: string[]): Promise<void> {
  await ctx.manager.rest
    .request('PATCH', vmimPath(m.metadata?.namespace ?? '', m.metadata?.name ?? ''), {
      body: {
        metadata: {
          finalizers,
          resourceVersion: m.metadata?.resourceVersion,
          ...(m.spec.vmiName && !m.metadata?.deletionTimestamp
            ? { labels: { [VMI_NAME_LABEL]: m.spec.vmiName } }
            : {}),
        },
      },
      contentType: 'application/merge-patch+json',
    })
    .catch((e) => {
      if (!isNotFound(e) && (e as { code?: number }).code !== 409) throw e;
    });
}

/** The configuration in force for the instance: the KubeVirt CR's, then its MigrationPolicy's. */
async function configFor(
  ctx: EngineContext,
  vmi: KvVmi,
): Promise<{ config: MigrationConfiguration; policyName?: string }> {
  const rest = ctx.manager.rest;
  const cluster = (await clusterConfiguration(ctx)).migrations;
  const policies = await rest
    .request<{ items: MigrationPolicy[] }>('GET', POLICIES)
    .then((r) => r.body.items)
    .catch(() => [] as MigrationPolicy[]);
  const ns = await getLive<{ metadata?: { labels?: Record<string, string> } }>(
    rest,
    `/api/v1/namespaces/${vmi.metadata?.namespace}`,
  );
  const policy = matchPolicy(policies, vmi.metadata?.labels ?? {}, ns?.metadata?.labels ?? {});
  return {
    config: migrationConfiguration(cluster, policy),
    ...(policy?.metadata?.name ? { policyName: policy.metadata.name } : {}),
  };
}

/** Migrations under way on the engine, and those leaving `node`. */
function counts(ctx: EngineContext, node: string): { running: number; outboundFromNode: number } {
  let running = 0;
  let outboundFromNode = 0;
  for (const r of ctx.running.values())
    if (r.migration && !finalPhase(r.migration.phase)) {
      running++;
      if (r.node === node) outboundFromNode++;
    }
  return { running, outboundFromNode };
}

type Requeue = { requeueAfterMs: number } | undefined;

/** One pass over the instance's migrations; a requeue while one waits or runs. */
export async function reconcileMigrations(
  ctx: EngineContext,
  key: string,
  vmi: KvVmi | undefined,
): Promise<Requeue> {
  const [ns = '', name = ''] = key.split('/');
  let requeue: Requeue;
  for (const m of migrationsOf(ctx, ns, name)) {
    const next = await oneMigration(ctx, key, vmi, m);
    if (next?.requeueAfterMs === 0) return next;
    requeue ??= next;
  }
  return requeue;
}

async function oneMigration(
  ctx: EngineContext,
  key: string,
  vmi: KvVmi | undefined,
  m: Vmim,
): Promise<Requeue> {
  const uid = m.metadata?.uid ?? '';
  const r = ctx.running.get(key);
  const run = r?.migration?.uid === uid ? r.migration : undefined;
  const finalizers = m.metadata?.finalizers ?? [];
  if (m.metadata?.deletionTimestamp) {
    // Deleting a migration under way cancels it (virtctl migrate-cancel deletes it).
    if (run && !finalPhase(run.phase)) {
      run.cancel();
      return { requeueAfterMs: RETRY_MS };
    }
    if (finalizers.includes(MIGRATION_FINALIZER))
      await setFinalizers(
        ctx,
        m,
        finalizers.filter((f) => f !== MIGRATION_FINALIZER),
      );
    return undefined;
  }
  if (run) return { requeueAfterMs: RETRY_MS };
  // Ended here already (the cache may not have the final phase yet): never run twice.
  if (finalPhase(m.status?.phase) || r?.lastMigration?.migrationUid === uid) return undefined;
  if (!finalizers.includes(MIGRATION_FINALIZER)) {
    await setFinalizers(ctx, m, [...finalizers, MIGRATION_FINALIZER]);
    return { requeueAfterMs: 0 };
  }
  if (!m.status?.phase) {
    await writeMigration(ctx, m, 'Pending', {});
    return { requeueAfterMs: 0 };
  }
  return nextStep(ctx, key, vmi, m);
}

/** Why the migration cannot go on (it fails), or that it waits for another one (undefined). */
function refusalOf(
  ctx: EngineContext,
  key: string,
  vmi: KvVmi | undefined,
  m: Vmim,
): { refusal?: string; waits: boolean } {
  const r = ctx.running.get(key);
  const other = r?.migration && !finalPhase(r.migration.phase) ? r.migration.name : undefined;
  if (other) return { waits: true };
  const refusal = migrationRefusal({
    name: m.spec.vmiName ?? '',
    ...(vmi?.status?.phase ? { phase: vmi.status.phase } : {}),
    running: alive(r),
    ...(r?.migratable ? { liveMigratable: r.migratable } : {}),
  });
  return refusal ? { refusal, waits: false } : { waits: false };
}

/** The migration waits for a target node (Scheduling), or fails once it waited too long. */
async function unschedulable(ctx: EngineContext, m: Vmim, why: string): Promise<Requeue> {
  const since = Date.parse(m.metadata?.creationTimestamp ?? '') || Date.now();
  if (Date.now() - since > UNSCHEDULABLE_TIMEOUT_MS) {
    await writeMigration(ctx, m, 'Failed', {
      failed: true,
      completed: false,
      failureReason: `no target node within ${UNSCHEDULABLE_TIMEOUT_MS / 1000} s: ${why}`,
    });
    return undefined;
  }
  if (m.status?.phase !== 'Scheduling')
    await writeMigration(ctx, m, 'Scheduling', { failureReason: why });
  return { requeueAfterMs: RETRY_MS };
}

/** Moves a migration not started yet on: Failed, waiting (Pending, Scheduling) or started. */
async function nextStep(
  ctx: EngineContext,
  key: string,
  vmi: KvVmi | undefined,
  m: Vmim,
): Promise<Requeue> {
  const check = refusalOf(ctx, key, vmi, m);
  if (check.refusal) {
    await writeMigration(ctx, m, 'Failed', {
      failed: true,
      completed: false,
      failureReason: check.refusal,
    });
    return undefined;
  }
  const r = ctx.running.get(key);
  if (!vmi || !r || check.waits) return { requeueAfterMs: RETRY_MS };
  const { config, policyName } = await configFor(ctx, vmi);
  if (mayBegin(config, counts(ctx, r.node))) return { requeueAfterMs: RETRY_MS };
  const placed = placeOn(ctx, {
    ...(vmi.spec.nodeSelector ? { nodeSelector: vmi.spec.nodeSelector } : {}),
    ...(m.spec.addedNodeSelector ? { addedNodeSelector: m.spec.addedNodeSelector } : {}),
    notOn: r.node,
  });
  if (!placed.ok) return unschedulable(ctx, m, placed.message);
  const room = roomFor(ctx, vmi);
  if (!room.ok) return unschedulable(ctx, m, room.message);
  r.migration = startMigration(ctx, {
    key,
    vmi,
    r,
    m,
    node: placed.node,
    config,
    ...(policyName ? { policyName } : {}),
  });
  return { requeueAfterMs: RETRY_MS };
}

/**
 * virt-api's migrate (pkg/virt-api/rest/subresource.go MigrateVMRequestHandler): the VM must
 * exist and run; the migration is made with its added node selector (a dry run with dryRun=All).
 * Whether the instance may migrate is for the API server's admission to say (KubeVirt's
 * migration-create-validator: LiveMigratable, one migration at a time); its refusal comes back as
 * virt-api returns it, an internal error carrying the webhook's words.
 */
export async function migrate(
  ctx: EngineContext,
  ns: string,
  name: string,
  o: MigrateOptions,
): Promise<void> {
  const rest = ctx.manager.rest;
  if (!(await getLive(rest, vmPath(ns, name))))
    throw new EngineError(404, `virtualmachine.kubevirt.io "${name}" not found`);
  const vmi = await getLive<KvVmi>(rest, vmiPath(ns, name));
  if (vmi?.status?.phase !== 'Running')
    throw new EngineError(
      409,
      `Operation cannot be fulfilled on virtualmachine.kubevirt.io "${name}": VM is not running`,
    );
  await rest
    .request(
      'POST',
      `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstancemigrations${o.dryRun ? '?dryRun=All' : ''}`,
      {
        body: {
          apiVersion: 'kubevirt.io/v1',
          kind: 'VirtualMachineInstanceMigration',
          metadata: { generateName: 'kubevirt-migrate-vm-', namespace: ns },
          spec: {
            vmiName: name,
            ...(o.addedNodeSelector ? { addedNodeSelector: o.addedNodeSelector } : {}),
          },
        },
      },
    )
    .catch((e: unknown) => {
      const said = (e as ApiError).body as { message?: string } | undefined;
      throw new EngineError(
        500,
        `Internal error occurred: ${said?.message ?? (e as Error).message}`,
      );
    });
}
