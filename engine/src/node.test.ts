import { describe, expect, it } from 'vitest';
import { draining, nodeObject, nodeStatus, unschedulable } from './node.ts';

const m = { cpus: 2, memoryBytes: 4 * 2 ** 30, arch: 'amd64' };

describe('the Node', () => {
  it('is registered with the hostname label and marked as the engine’s', () => {
    expect(nodeObject({ name: 'n1' }, m)).toMatchObject({
      kind: 'Node',
      metadata: {
        name: 'n1',
        labels: {
          'kubernetes.io/hostname': 'n1',
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'app.kubernetes.io/managed-by': 'vmplane-local-engine',
        },
      },
      spec: { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'] },
    });
  });
  it('carries its zone when it has one, and no zone label otherwise', () => {
    const zoned = nodeObject({ name: 'n2', zone: 'zone-b' }, m) as {
      metadata: { labels: Record<string, string> };
    };
    expect(zoned.metadata.labels['topology.kubernetes.io/zone']).toBe('zone-b');
    const plain = nodeObject({ name: 'n1' }, m) as { metadata: { labels: Record<string, string> } };
    expect(Object.keys(plain.metadata.labels)).not.toContain('topology.kubernetes.io/zone');
  });
  it('is Ready with the heartbeat’s time and the machine’s capacity', () => {
    const s = nodeStatus(
      'n1',
      m,
      new Date('2026-01-01T00:00:10Z'),
      new Date('2026-01-01T00:00:00Z'),
    );
    expect(s).toMatchObject({
      capacity: { cpu: '2', memory: '4194304Ki', pods: '110' },
      allocatable: { cpu: '2', memory: '4194304Ki' },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          lastHeartbeatTime: '2026-01-01T00:00:10.000Z',
          lastTransitionTime: '2026-01-01T00:00:00.000Z',
        },
      ],
    });
  });
});

describe('a node being drained', () => {
  it('takes no new guests when cordoned or tainted NoSchedule; drains on KubeVirt’s taint only', () => {
    expect(unschedulable(undefined)).toBe(false);
    expect(unschedulable({ spec: { unschedulable: true } })).toBe(true);
    expect(unschedulable({ spec: { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] } })).toBe(
      false,
    );
    const drained = { spec: { taints: [{ key: 'kubevirt.io/drain', effect: 'NoSchedule' }] } };
    expect(unschedulable(drained)).toBe(true);
    expect(draining(drained)).toBe(true);
    expect(draining({ spec: { unschedulable: true } })).toBe(false);
  });
});
