import { describe, expect, it } from 'vitest';
import {
  completionTimeoutMs,
  matchPolicy,
  mayBegin,
  MIGRATION_DEFAULTS,
  migrationConfiguration,
  migrationRefusal,
  migrationStatus,
  qemuOutcome,
  qmpSettings,
  type MigrationPolicy,
} from './state.ts';

const policy = (name: string, sel: MigrationPolicy['spec']): MigrationPolicy => ({
  metadata: { name },
  spec: sel ?? {},
});

describe('the migration configuration', () => {
  it('is KubeVirt’s defaults, the cluster’s settings over them, the policy’s over both', () => {
    expect(migrationConfiguration(undefined, undefined)).toEqual(MIGRATION_DEFAULTS);
    const c = migrationConfiguration(
      { bandwidthPerMigration: '64Mi', parallelMigrationsPerCluster: 1 },
      policy('p', { allowAutoConverge: true, completionTimeoutPerGiB: 20 }),
    );
    expect(c).toMatchObject({
      bandwidthPerMigration: '64Mi',
      parallelMigrationsPerCluster: 1,
      allowAutoConverge: true,
      completionTimeoutPerGiB: 20,
      parallelOutboundMigrationsPerNode: 2,
    });
  });

  it('takes the policy matching the most labels, every one of its selectors matching', () => {
    const ps = [
      policy('ns-only', { selectors: { namespaceSelector: { team: 'a' } } }),
      policy('both', {
        selectors: {
          namespaceSelector: { team: 'a' },
          virtualMachineInstanceSelector: { tier: 'prod' },
        },
      }),
      policy('other', { selectors: { namespaceSelector: { team: 'b' } } }),
    ];
    expect(matchPolicy(ps, { tier: 'prod' }, { team: 'a' })?.metadata?.name).toBe('both');
    expect(matchPolicy(ps, { tier: 'dev' }, { team: 'a' })?.metadata?.name).toBe('ns-only');
    expect(matchPolicy(ps, {}, { team: 'c' })).toBeUndefined();
  });

  it('tells QEMU the bandwidth (0 lifts QEMU’s own cap) and auto-converge', () => {
    const s = qmpSettings(migrationConfiguration({ bandwidthPerMigration: '64Mi' }, undefined));
    expect(s.parameters['max-bandwidth']).toBe(64 * 2 ** 20);
    expect(s.capabilities).toContainEqual({ capability: 'auto-converge', state: false });
    const unlimited = qmpSettings(
      migrationConfiguration(undefined, policy('p', { allowAutoConverge: true })),
    );
    expect(unlimited.parameters['max-bandwidth']).toBe(2 ** 53 - 1);
    expect(unlimited.capabilities).toContainEqual({ capability: 'auto-converge', state: true });
  });

  it('gives completionTimeoutPerGiB seconds per GiB of memory, one GiB at least', () => {
    const c = migrationConfiguration({ completionTimeoutPerGiB: 10 }, undefined);
    expect(completionTimeoutMs(c, 256 * 2 ** 20)).toBe(10_000);
    expect(completionTimeoutMs(c, 4 * 2 ** 30)).toBe(40_000);
  });
});

describe('whether a migration begins', () => {
  it('waits at the parallel limits, per cluster and per source node', () => {
    const c = MIGRATION_DEFAULTS;
    expect(mayBegin(c, { running: 0, outboundFromNode: 0 })).toBeUndefined();
    expect(mayBegin(c, { running: 5, outboundFromNode: 0 })).toContain(
      'parallelMigrationsPerCluster 5',
    );
    expect(mayBegin(c, { running: 2, outboundFromNode: 2 })).toContain(
      'parallelOutboundMigrationsPerNode 2',
    );
  });

  it('refuses an instance that is not running, not migratable, or already migrating', () => {
    const ok = { type: 'LiveMigratable', status: 'True' };
    expect(
      migrationRefusal({ name: 'a', phase: 'Running', running: true, liveMigratable: ok }),
    ).toBeUndefined();
    expect(migrationRefusal({ name: 'a', phase: 'Scheduling', running: false })).toBe(
      'VMI a is not running (phase Scheduling)',
    );
    expect(
      migrationRefusal({
        name: 'a',
        phase: 'Running',
        running: true,
        liveMigratable: {
          status: 'False',
          reason: 'DisksNotLiveMigratable',
          message: 'cannot migrate VMI: PVC root is not shared',
        },
      }),
    ).toBe(
      'VMI a is not migratable: DisksNotLiveMigratable: cannot migrate VMI: PVC root is not shared',
    );
    expect(
      migrationRefusal({
        name: 'a',
        phase: 'Running',
        running: true,
        liveMigratable: ok,
        otherMigration: 'm1',
      }),
    ).toBe('VMI a is already being migrated by m1');
  });
});

describe('the migration’s status', () => {
  it('records each phase’s time once, in order', () => {
    const t0 = new Date('2026-12-07T10:00:00.500Z');
    const a = migrationStatus('Pending', {}, undefined, t0);
    const b = migrationStatus('Running', { mode: 'PreCopy' }, a.phaseTransitionTimestamps, t0);
    const c = migrationStatus('Running', {}, b.phaseTransitionTimestamps, new Date());
    expect(c.phaseTransitionTimestamps).toEqual([
      { phase: 'Pending', phaseTransitionTimestamp: '2026-12-07T10:00:00Z' },
      { phase: 'Running', phaseTransitionTimestamp: '2026-12-07T10:00:00Z' },
    ]);
  });

  it('reads QEMU’s migration status', () => {
    expect(qemuOutcome({ status: 'active' })).toBe('running');
    expect(qemuOutcome({ status: 'setup' })).toBe('running');
    expect(qemuOutcome({ status: 'completed' })).toBe('completed');
    expect(qemuOutcome({ status: 'cancelled' })).toBe('cancelled');
    expect(qemuOutcome({ status: 'failed' })).toBe('failed');
  });
});
