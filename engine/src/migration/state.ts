// A live migration as KubeVirt v1.7.0 writes it (pure): the VirtualMachineInstanceMigration's
// phases (pkg/virt-controller/watch/migration/), the migration state both it and the instance
// carry (status.migrationState), the configuration in force (the KubeVirt CR's
// spec.configuration.migrations, overridden by the MigrationPolicy that selects the instance, as
// pkg/virt-controller/watch/migration's policy matching does), whether a migration may begin now
// (the parallel limits), and what the engine tells QEMU (QMP capabilities and parameters).
import { parseQuantity } from '../../../api/src/quantity.ts';

export type EvictionStrategy = 'LiveMigrate' | 'LiveMigrateIfPossible' | 'External' | 'None';

/** The parts of the KubeVirt CR's spec.configuration the engine's migrations read. */
export interface ClusterConfiguration {
  migrations?: Partial<MigrationConfiguration>;
  evictionStrategy?: EvictionStrategy;
}

export type MigrationPhase =
  | 'Pending'
  | 'Scheduling'
  | 'Scheduled'
  | 'PreparingTarget'
  | 'TargetReady'
  | 'Running'
  | 'Succeeded'
  | 'Failed';

export const finalPhase = (p: MigrationPhase | undefined): boolean =>
  p === 'Succeeded' || p === 'Failed';

/** The migration's configuration as KubeVirt records it in migrationState.migrationConfiguration. */
export interface MigrationConfiguration {
  allowAutoConverge: boolean;
  allowPostCopy: boolean;
  allowWorkloadDisruption: boolean;
  /** Bytes per second as a quantity; "0" is unlimited. */
  bandwidthPerMigration: string;
  completionTimeoutPerGiB: number;
  progressTimeout: number;
  parallelMigrationsPerCluster: number;
  parallelOutboundMigrationsPerNode: number;
}

/** KubeVirt's defaults (pkg/virt-config/config-map.go). */
export const MIGRATION_DEFAULTS: Readonly<MigrationConfiguration> = Object.freeze({
  allowAutoConverge: false,
  allowPostCopy: false,
  allowWorkloadDisruption: false,
  bandwidthPerMigration: '0Mi',
  completionTimeoutPerGiB: 150,
  progressTimeout: 150,
  parallelMigrationsPerCluster: 5,
  parallelOutboundMigrationsPerNode: 2,
});

export interface MigrationState {
  migrationUid?: string;
  sourceNode?: string;
  sourcePod?: string;
  targetNode?: string;
  targetPod?: string;
  targetNodeAddress?: string;
  targetNodeDomainDetected?: boolean;
  targetNodeDomainReadyTimestamp?: string;
  startTimestamp?: string;
  endTimestamp?: string;
  completed?: boolean;
  failed?: boolean;
  failureReason?: string;
  abortRequested?: boolean;
  abortStatus?: 'Succeeded' | 'Failed' | 'Aborting';
  mode?: 'PreCopy' | 'PostCopy';
  migrationPolicyName?: string;
  migrationConfiguration?: MigrationConfiguration;
}

export interface MigrationPolicy {
  metadata?: { name?: string };
  spec?: {
    allowAutoConverge?: boolean;
    allowPostCopy?: boolean;
    allowWorkloadDisruption?: boolean;
    bandwidthPerMigration?: string;
    completionTimeoutPerGiB?: number;
    selectors?: {
      namespaceSelector?: Record<string, string>;
      virtualMachineInstanceSelector?: Record<string, string>;
    };
  };
}

/**
 * The policy that applies: every selector label must match; among those that match, the one
 * matching the most labels wins, then the name (KubeVirt's MatchPolicy precedence).
 */
export function matchPolicy(
  policies: readonly MigrationPolicy[],
  vmiLabels: Record<string, string>,
  namespaceLabels: Record<string, string>,
): MigrationPolicy | undefined {
  const score = (p: MigrationPolicy): number => {
    const sel = p.spec?.selectors ?? {};
    const pairs = [
      ...Object.entries(sel.namespaceSelector ?? {}).map(([k, v]) => namespaceLabels[k] === v),
      ...Object.entries(sel.virtualMachineInstanceSelector ?? {}).map(
        ([k, v]) => vmiLabels[k] === v,
      ),
    ];
    return pairs.every(Boolean) ? pairs.length : -1;
  };
  return policies
    .map((p) => ({ p, s: score(p) }))
    .filter((x) => x.s >= 0)
    .sort(
      (a, b) => b.s - a.s || (a.p.metadata?.name ?? '').localeCompare(b.p.metadata?.name ?? ''),
    )[0]?.p;
}

/** The configuration in force: KubeVirt's defaults, the cluster's settings, then the policy's. */
export function migrationConfiguration(
  cluster: Partial<MigrationConfiguration> | undefined,
  policy: MigrationPolicy | undefined,
): MigrationConfiguration {
  const p = policy?.spec ?? {};
  const defined = <T extends object>(o: T): Partial<T> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    ...MIGRATION_DEFAULTS,
    ...defined(cluster ?? {}),
    ...defined({
      allowAutoConverge: p.allowAutoConverge,
      allowPostCopy: p.allowPostCopy,
      allowWorkloadDisruption: p.allowWorkloadDisruption,
      bandwidthPerMigration: p.bandwidthPerMigration,
      completionTimeoutPerGiB: p.completionTimeoutPerGiB,
    }),
  };
}

const GIB = 2 ** 30;

/** What QEMU is told before `migrate`: its capabilities and parameters for this configuration. */
export function qmpSettings(c: MigrationConfiguration): {
  capabilities: { capability: string; state: boolean }[];
  parameters: Record<string, number>;
} {
  const bandwidth = Number(parseQuantity(c.bandwidthPerMigration).asInteger());
  return {
    capabilities: [
      { capability: 'events', state: true },
      { capability: 'auto-converge', state: c.allowAutoConverge },
      // Post-copy needs userfaultfd, which the engine's QEMU sandbox does not offer.
      { capability: 'postcopy-ram', state: false },
    ],
    // 0 is unlimited for KubeVirt; QEMU's own default is a cap (128 MiB/s): lift it.
    parameters: { 'max-bandwidth': bandwidth > 0 ? bandwidth : 2 ** 53 - 1 },
  };
}

/**
 * How long the migration may take before it is cancelled: completionTimeoutPerGiB seconds for
 * each GiB of guest memory (at least one GiB counted, as KubeVirt rounds up the data to copy).
 */
export const completionTimeoutMs = (c: MigrationConfiguration, memoryBytes: number): number =>
  c.completionTimeoutPerGiB * Math.max(1, memoryBytes / GIB) * 1000;

export interface MigrationCounts {
  /** Migrations under way in the cluster (the engine's). */
  running: number;
  /** Of those, the ones leaving the source's node. */
  outboundFromNode: number;
}

/** Whether another migration may begin now, or why it waits in Pending (the parallel limits). */
export function mayBegin(c: MigrationConfiguration, n: MigrationCounts): string | undefined {
  if (n.running >= c.parallelMigrationsPerCluster)
    return `waiting: ${n.running} migrations run in the cluster (parallelMigrationsPerCluster ${c.parallelMigrationsPerCluster})`;
  if (n.outboundFromNode >= c.parallelOutboundMigrationsPerNode)
    return `waiting: ${n.outboundFromNode} migrations leave the source node (parallelOutboundMigrationsPerNode ${c.parallelOutboundMigrationsPerNode})`;
  return undefined;
}

/** What the instance is in: why it cannot be migrated, if it cannot (virt-api's and virt-controller's checks). */
export function migrationRefusal(i: {
  name: string;
  phase?: string;
  running: boolean;
  liveMigratable?: { status: string; reason?: string; message?: string };
  otherMigration?: string;
}): string | undefined {
  if (i.phase !== 'Running' || !i.running)
    return `VMI ${i.name} is not running (phase ${i.phase ?? 'none'})`;
  if (i.liveMigratable?.status !== 'True')
    return `VMI ${i.name} is not migratable: ${i.liveMigratable?.reason ?? 'LiveMigratable unknown'}${i.liveMigratable?.message ? `: ${i.liveMigratable.message}` : ''}`;
  if (i.otherMigration) return `VMI ${i.name} is already being migrated by ${i.otherMigration}`;
  return undefined;
}

export interface PhaseTransition {
  phase: MigrationPhase;
  phaseTransitionTimestamp: string;
}

/** The migration's status with the phase moved on (each phase's time recorded once). */
export function migrationStatus(
  phase: MigrationPhase,
  state: MigrationState,
  previous: readonly PhaseTransition[] | undefined,
  now: Date,
): {
  phase: MigrationPhase;
  migrationState: MigrationState;
  phaseTransitionTimestamps: PhaseTransition[];
} {
  const list = [...(previous ?? [])];
  if (!list.some((p) => p.phase === phase))
    list.push({ phase, phaseTransitionTimestamp: `${now.toISOString().slice(0, 19)}Z` });
  return { phase, migrationState: state, phaseTransitionTimestamps: list };
}

/** QEMU's query-migrate answer, the parts the engine reads. */
export interface QemuMigrationInfo {
  status?: string;
  'total-time'?: number;
  downtime?: number;
  'expected-downtime'?: number;
  ram?: { transferred?: number; remaining?: number; total?: number; 'dirty-sync-count'?: number };
}

/** What QEMU's migration status means for the run (pure). */
export function qemuOutcome(
  info: QemuMigrationInfo,
): 'running' | 'completed' | 'failed' | 'cancelled' {
  switch (info.status) {
    case 'completed':
      return 'completed';
    case 'failed':
      return 'failed';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'running';
  }
}

/** A migration the engine carries out (run.ts), as the instance's running guest holds it. */
export interface MigrationRun {
  uid: string;
  name: string;
  phase: MigrationPhase;
  state: MigrationState;
  /** What QEMU said at the end: the whole time and the time the guest was paused. */
  stats?: { totalMs?: number; downtimeMs?: number };
  /** Asks for the migration to stop (the object was deleted); the source keeps the guest. */
  cancel(): void;
  done: Promise<void>;
}
