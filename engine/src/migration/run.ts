// One live migration on the local engine (I/O), as virt-handler and virt-launcher carry it out:
// the target's launcher Pod on the target node, a second QEMU there started with `-incoming
// defer` and the same devices, QMP `migrate` on the source over a Unix socket, QEMU's progress
// followed (query-migrate and its MIGRATION events), and at the end the guest handed over: the
// target runs it, the source QEMU quits and its Pod completes. Cancelled (the migration object
// deleted) or failed, `migrate_cancel` on the source, the target torn down, the guest left running
// where it was. Every phase and state it writes is one it observed.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isNotFound } from '../../../kube/src/rest.ts';
import { instanceDir, type EngineContext, type KvVmi, type Running } from '../engine-context.ts';
import { agentLink } from '../guest-agent-probe.ts';
import { ensureLauncherPod, launcherEnded, setLauncherStatus } from '../launcher-pod.ts';
import { prepareCards, promoteCards, releaseCards } from '../network/guest-cards.ts';
import { powerOff, startQemu, type QemuSpec } from '../qemu.ts';
import {
  completionTimeoutMs,
  finalPhase,
  migrationStatus,
  qemuOutcome,
  qmpSettings,
  type MigrationConfiguration,
  type MigrationPhase,
  type MigrationRun,
  type MigrationState,
  type PhaseTransition,
  type QemuMigrationInfo,
} from './state.ts';

export const VMIMS = '/apis/kubevirt.io/v1/virtualmachineinstancemigrations';
export const vmimPath = (ns: string, name: string): string =>
  `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstancemigrations/${name}`;
/** virt-controller's finalizer on a migration: it goes once the migration is over. */
export const MIGRATION_FINALIZER = 'kubevirt.io/migrationJobFinalize';

export type { MigrationRun } from './state.ts';

export interface Vmim {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
  spec: { vmiName?: string; addedNodeSelector?: Record<string, string> };
  status?: {
    phase?: MigrationPhase;
    migrationState?: MigrationState;
    phaseTransitionTimestamps?: PhaseTransition[];
  };
}

/** How often QEMU's progress is read. */
const FOLLOW_EVERY_MS = 250;

/**
 * Writes the migration's status (its status subresource), its phase moved on; gives the phase
 * times written. `previous`: the times as the writer last wrote them (the cache may lag behind).
 */
export async function writeMigration(
  ctx: EngineContext,
  m: Vmim,
  phase: MigrationPhase,
  state: MigrationState,
  previous = m.status?.phaseTransitionTimestamps,
): Promise<PhaseTransition[]> {
  const ns = m.metadata?.namespace ?? '';
  const name = m.metadata?.name ?? '';
  const status = migrationStatus(phase, state, previous, new Date());
  // A reason written while the migration waited goes once it moves on (a merge patch keeps it).
  const body = {
    status: {
      ...status,
      migrationState: { failureReason: null, ...status.migrationState },
    },
  };
  await ctx.manager.rest
    .request('PATCH', `${vmimPath(ns, name)}/status`, {
      body,
      contentType: 'application/merge-patch+json',
    })
    .catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  return status.phaseTransitionTimestamps;
}

interface Target {
  node: string;
  pod: string;
  dir: string;
  netKey: string;
  podIP?: string;
  spec: QemuSpec;
  vm?: Awaited<ReturnType<typeof startQemu>>;
}

const stamp = (): string => `${new Date().toISOString().slice(0, 19)}Z`;

/** The target's command: the source's devices, its own folder and cards, waiting for the state. */
function targetSpec(source: QemuSpec, dir: string, taps: QemuSpec['taps'] | undefined): QemuSpec {
  const spec: QemuSpec = { ...source, dir, incoming: true };
  delete spec.paused;
  if (spec.seed) spec.seed = { ...spec.seed, path: join(dir, basename(spec.seed.path)) };
  if (taps) spec.taps = taps;
  // The source's traffic record is its own (user-mode address discovery): none on the target.
  if (spec.nic) spec.nic = { ...spec.nic, dumpFile: undefined };
  return spec;
}

export interface MigrationInput {
  key: string;
  vmi: KvVmi;
  r: Running;
  m: Vmim;
  node: string;
  config: MigrationConfiguration;
  policyName?: string;
}

/**
 * Starts the migration of the running guest `r` (instance `vmi`, key `key`) to `node`: returns at
 * once; the run writes the migration's phases as they happen and enqueues the instance's key so
 * that its status follows.
 */
export function startMigration(ctx: EngineContext, o: MigrationInput): MigrationRun {
  const run = new LiveMigration(ctx, o);
  run.done = run.go().catch((e: Error) => run.failed(e.message).catch(() => undefined));
  return run;
}

class LiveMigration implements MigrationRun {
  readonly uid: string;
  readonly name: string;
  phase: MigrationPhase = 'Pending';
  state: MigrationState;
  stats?: { totalMs?: number; downtimeMs?: number };
  done: Promise<void> = Promise.resolve();
  private cancelled = false;
  private transitions: PhaseTransition[] | undefined;
  private readonly target: Target;

  constructor(
    private readonly ctx: EngineContext,
    private readonly o: MigrationInput,
  ) {
    this.uid = o.m.metadata?.uid ?? '';
    this.name = o.m.metadata?.name ?? '';
    this.transitions = o.m.status?.phaseTransitionTimestamps;
    this.state = {
      migrationUid: this.uid,
      sourceNode: o.r.node,
      ...(o.r.pod ? { sourcePod: o.r.pod } : {}),
      mode: 'PreCopy',
      migrationConfiguration: o.config,
      ...(o.policyName ? { migrationPolicyName: o.policyName } : {}),
    };
    this.target = {
      node: o.node,
      pod: '',
      dir: instanceDir(ctx, o.key, o.node),
      netKey: `${o.key}@${this.uid.slice(0, 8)}`,
      spec: o.r.guest?.spec ?? ({} as QemuSpec),
    };
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.state = { ...this.state, abortRequested: true };
    this.ctx.manager.enqueue('local-engine', this.o.key);
  }

  /** Moves the phase on: written to the migration, the instance's status to follow. */
  private async to(p: MigrationPhase, more: Partial<MigrationState> = {}): Promise<void> {
    this.phase = p;
    this.state = { ...this.state, ...more };
    if (finalPhase(p)) {
      // The instance keeps the last migration's state (KubeVirt leaves it on the VMI).
      const now = this.ctx.running.get(this.o.key);
      if (now) {
        now.lastMigration = this.state;
        if (now.migration === this) delete now.migration;
      }
    }
    this.transitions = await writeMigration(this.ctx, this.o.m, p, this.state, this.transitions);
    this.ctx.manager.enqueue('local-engine', this.o.key);
  }

  /** The target's QEMU, folder, cards and (unless the guest runs in it) Pod, gone. */
  private async teardown(): Promise<void> {
    const t = this.target;
    if (t.vm) {
      t.vm.qmp.close();
      t.vm.serial.close();
      t.vm.child.kill('SIGKILL');
    }
    releaseCards(this.ctx, t.netKey);
    rmSync(t.dir, { recursive: true, force: true });
    if (t.pod && t.pod !== this.ctx.running.get(this.o.key)?.pod)
      await this.ctx.manager.rest
        .request('DELETE', `/api/v1/namespaces/${this.o.vmi.metadata?.namespace}/pods/${t.pod}`, {
          body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 },
        })
        .catch(() => undefined);
  }

  /** The migration failed or was aborted: QEMU's migration cancelled, the guest stays. */
  async failed(reason: string, aborted = this.cancelled): Promise<void> {
    await this.o.r.qmp.execute('migrate_cancel').catch(() => undefined);
    await this.teardown();
    this.ctx.manager.log.warn(
      { vm: this.o.key, migration: this.name, reason },
      'local engine: migration failed',
    );
    await this.to('Failed', {
      endTimestamp: stamp(),
      completed: false,
      failed: true,
      failureReason: reason,
      ...(aborted ? { abortStatus: 'Succeeded' as const } : {}),
    });
  }

  /** The target's Pod, folder, cards and QEMU, waiting for the guest on a Unix socket. */
  private async prepareTarget(guest: NonNullable<Running['guest']>): Promise<string> {
    const { ctx, o, target } = this;
    // The target's launcher Pod, bound to the node placement chose (no scheduler to wait for).
    target.pod = await ensureLauncherPod(ctx, o.vmi, guest.disks, o.node, this.uid);
    await this.to('Scheduling', { targetPod: target.pod });
    await this.to('Scheduled', { targetNode: o.node });
    await this.to('PreparingTarget');
    rmSync(target.dir, { recursive: true, force: true });
    mkdirSync(target.dir, { recursive: true, mode: 0o700 });
    // The cloud-init seed is the instance's: the target reads the same bytes from its folder.
    const seed = guest.spec.seed;
    if (seed) copyFileSync(seed.path, join(target.dir, basename(seed.path)));
    const cards = await prepareCards(ctx, o.vmi, target.netKey);
    if (cards instanceof Error) throw cards;
    if (cards) target.podIP = cards.podIP;
    target.spec = targetSpec(guest.spec, target.dir, cards?.taps);
    target.vm = await startQemu(target.spec, ctx.options.qemu, cards?.inside);
    const { capabilities } = qmpSettings(o.config);
    await target.vm.qmp.execute('migrate-set-capabilities', { capabilities });
    const uri = `unix:${join(target.dir, 'mig.sock')}`;
    await target.vm.qmp.execute('migrate-incoming', { uri });
    return uri;
  }

  /** Follows QEMU's migration until it completed (true) or the run failed (false). */
  private async follow(vm: NonNullable<Target['vm']>): Promise<boolean> {
    const timeoutMs = completionTimeoutMs(this.o.config, this.o.r.memoryBytes);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await this.o.r.qmp.execute<QemuMigrationInfo>('query-migrate');
      const outcome = qemuOutcome(info);
      if (outcome === 'completed') {
        this.stats = { totalMs: info['total-time'], downtimeMs: info.downtime };
        return true;
      }
      const why =
        outcome !== 'running'
          ? `QEMU reported the migration ${outcome}`
          : vm.child.exitCode !== null || vm.child.signalCode !== null
            ? 'the target QEMU exited'
            : this.cancelled
              ? 'migration aborted'
              : Date.now() > deadline
                ? `the migration did not complete within ${Math.round(timeoutMs / 1000)} s (completionTimeoutPerGiB ${this.o.config.completionTimeoutPerGiB})`
                : undefined;
      if (why) {
        await this.failed(why);
        return false;
      }
      await new Promise((res) => setTimeout(res, FOLLOW_EVERY_MS));
    }
  }

  async go(): Promise<void> {
    const { ctx, o } = this;
    const guest = o.r.guest;
    if (!guest) return this.failed('the engine does not know how the source QEMU was started');
    const uri = await this.prepareTarget(guest);
    const vm = this.target.vm;
    if (!vm || this.cancelled) return this.failed('migration aborted');
    await this.to('TargetReady', {
      targetNodeAddress: ctx.network.nodeIP,
      targetNodeDomainDetected: true,
      targetNodeDomainReadyTimestamp: stamp(),
    });
    const settings = qmpSettings(o.config);
    await o.r.qmp.execute('migrate-set-capabilities', { capabilities: settings.capabilities });
    await o.r.qmp.execute('migrate-set-parameters', settings.parameters);
    await o.r.qmp.execute('migrate', { uri });
    await this.to('Running', { startTimestamp: stamp() });
    if (!(await this.follow(vm))) return;
    await handOver(ctx, { key: o.key, vmi: o.vmi, r: o.r, run: this, target: this.target, vm });
    await this.to('Succeeded', { endTimestamp: stamp(), completed: true, failed: false });
    ctx.manager.log.info(
      { vm: o.key, from: o.r.node, to: o.node, ...this.stats },
      'local engine: VM migrated',
    );
  }
}

/** The guest moved: the target becomes the instance's running guest; the source QEMU goes. */
async function handOver(
  ctx: EngineContext,
  o: {
    key: string;
    vmi: KvVmi;
    r: Running;
    /** Stays the guest's migration until its object says Succeeded (no second run meanwhile). */
    run: MigrationRun;
    target: Target;
    vm: NonNullable<Target['vm']>;
  },
): Promise<void> {
  const { key, r, target, vm } = o;
  const state = await vm.qmp.execute<{ status: string }>('query-status');
  promoteCards(ctx, target.netKey, key);
  const next: Running = {
    ...r,
    child: vm.child,
    qmp: vm.qmp,
    serial: vm.serial,
    dir: target.dir,
    node: target.node,
    pod: target.pod,
    ...(target.podIP ? { podIP: target.podIP } : {}),
    paused: state.status === 'paused',
    agent: agentLink(ctx, key, target.dir, vm.qmp),
    guest: { spec: target.spec, disks: r.guest?.disks ?? [] },
    migration: o.run,
    migrationStats: o.run.stats ?? {},
  };
  delete next.netKey;
  delete next.evacuating;
  ctx.running.set(key, next);
  vm.child.once('exit', () => ctx.manager.enqueue('local-engine', key));
  r.agent?.stop();
  await powerOff(r, 0);
  r.qmp.close();
  r.serial.close();
  rmSync(r.dir, { recursive: true, force: true });
  const ns = o.vmi.metadata?.namespace ?? '';
  await launcherEnded(ctx, o.vmi, r, 0);
  await setLauncherStatus(ctx, ns, target.pod, {
    phase: 'Running',
    startedAt: new Date(),
    ...(target.podIP ? { podIP: target.podIP } : {}),
  });
}
