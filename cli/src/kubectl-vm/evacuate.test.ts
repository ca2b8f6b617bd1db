import { describe, expect, it } from 'vitest';
import { drainSpec, evacuationPlan, type Instance } from './evacuate.ts';

const vmi = (
  name: string,
  o: { strategy?: string; migratable?: boolean; node?: string; vmplane?: boolean } = {},
): Instance => ({
  metadata: {
    name,
    namespace: 'ns',
    ...(o.vmplane === false ? {} : { labels: { 'vmplane.io/vm': name } }),
  },
  spec: o.strategy ? { evictionStrategy: o.strategy } : {},
  status: {
    nodeName: o.node ?? 'n1',
    phase: 'Running',
    conditions: [
      o.migratable === false
        ? {
            type: 'LiveMigratable',
            status: 'False',
            reason: 'DisksNotLiveMigratable',
            message: 'PVC root is not shared',
          }
        : { type: 'LiveMigratable', status: 'True' },
    ],
  },
});

describe('kubectl vm evacuate', () => {
  it('migrates LiveMigrate VMs, stops None ones, and holds on a LiveMigrate VM that cannot move', () => {
    const plan = evacuationPlan(
      [
        vmi('a', { strategy: 'LiveMigrate' }),
        vmi('b', { strategy: 'None' }),
        vmi('c', { strategy: 'LiveMigrate', migratable: false }),
        vmi('d', { strategy: 'LiveMigrateIfPossible', migratable: false, vmplane: false }),
        vmi('e', { strategy: 'LiveMigrateIfPossible' }),
        vmi('elsewhere', { strategy: 'None', node: 'n2' }),
      ],
      'n1',
      undefined,
    );
    expect(plan).toEqual([
      { vm: 'a', namespace: 'ns', action: 'migrate' },
      { vm: 'b', namespace: 'ns', action: 'stop', owner: 'vmplane', why: 'evictionStrategy None' },
      {
        vm: 'c',
        namespace: 'ns',
        action: 'blocked',
        why: 'evictionStrategy LiveMigrate, but it cannot live-migrate (DisksNotLiveMigratable: PVC root is not shared)',
      },
      {
        vm: 'd',
        namespace: 'ns',
        action: 'stop',
        owner: 'kubevirt',
        why: 'evictionStrategy LiveMigrateIfPossible and it cannot live-migrate (DisksNotLiveMigratable)',
      },
      { vm: 'e', namespace: 'ns', action: 'migrate' },
    ]);
  });

  it('takes the cluster’s default strategy for a VM that sets none (None when KubeVirt has none)', () => {
    expect(evacuationPlan([vmi('a')], 'n1', 'LiveMigrate')[0]?.action).toBe('migrate');
    expect(evacuationPlan([vmi('a')], 'n1', undefined)[0]).toMatchObject({
      action: 'stop',
      why: 'evictionStrategy None',
    });
  });

  it('cordons and taints the node, keeping its other taints; uncordon takes both back', () => {
    const node = {
      metadata: { name: 'n1' },
      spec: { taints: [{ key: 'gpu', effect: 'NoSchedule' }] },
    };
    const on = drainSpec(node, true);
    expect(on).toEqual({
      unschedulable: true,
      taints: [
        { key: 'gpu', effect: 'NoSchedule' },
        { key: 'kubevirt.io/drain', value: 'draining', effect: 'NoSchedule' },
      ],
    });
    expect(drainSpec({ ...node, spec: on }, false)).toEqual({
      unschedulable: false,
      taints: [{ key: 'gpu', effect: 'NoSchedule' }],
    });
  });
});
