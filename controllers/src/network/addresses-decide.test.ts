import { describe, expect, it } from 'vitest';
import type { Network, NetworkAddress, VirtualMachine } from '../../../api/generated/types.ts';
import { BOUND_TO, CLAIM_GRACE_MS, CLAIMED_AT } from '../../../decisions/src/network-claims.ts';
import {
  networkStatus,
  poolProblem,
  releaseDecision,
  statusInterfaces,
} from './addresses-decide.ts';

const NOW = new Date('2026-12-07T08:00:00Z');

function claim(ageMs: number, over: Partial<NetworkAddress['spec']> = {}): NetworkAddress {
  return {
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'NetworkAddress',
    metadata: {
      name: 'ip-lab-10-0-0-5',
      creationTimestamp: new Date(NOW.getTime() - ageMs).toISOString(),
    } as unknown as NetworkAddress['metadata'],
    spec: {
      kind: 'IP',
      address: '10.0.0.5',
      network: 'lab',
      vm: { namespace: 'a', name: 'web', interface: 'nic0' },
      ...over,
    },
  };
}

function annotated(c: NetworkAddress, annotations: Record<string, string>): NetworkAddress {
  return { ...c, metadata: { ...c.metadata, annotations } as NetworkAddress['metadata'] };
}

function vm(
  interfaces: NonNullable<VirtualMachine['spec']['network']>['interfaces'],
): VirtualMachine {
  return {
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachine',
    metadata: { name: 'web', namespace: 'a' },
    spec: { image: { name: 'debian' }, network: { interfaces } },
  } as VirtualMachine;
}

const lab = (pool: object = { cidr: '10.0.0.0/29', gateway: '10.0.0.1' }): Network => ({
  apiVersion: 'vmplane.io/v1alpha1',
  kind: 'Network',
  metadata: { name: 'lab', generation: 3 },
  spec: { type: 'L2', ipam: { staticPool: pool as never } },
});

describe('releasing claims', () => {
  it('keeps a claim while its VM carries the address', () => {
    const web = vm([{ name: 'nic0', network: 'lab', ipAddress: '10.0.0.5' }]);
    expect(releaseDecision(claim(10 * CLAIM_GRACE_MS), web, NOW)).toEqual({ action: 'keep' });
  });

  it('waits out the grace period of a claim whose VM is not written yet', () => {
    expect(releaseDecision(claim(15_000), undefined, NOW)).toEqual({
      action: 'wait',
      afterMs: CLAIM_GRACE_MS - 15_000,
    });
  });

  it('binds a carried claim to its VM, once', () => {
    const web = vm([{ name: 'nic0', network: 'lab', ipAddress: '10.0.0.5' }]);
    web.metadata = { ...web.metadata, uid: 'uid-1' } as VirtualMachine['metadata'];
    expect(releaseDecision(claim(1_000), web, NOW)).toEqual({ action: 'bind', uid: 'uid-1' });
    const bound = annotated(claim(1_000), { [BOUND_TO]: 'uid-1' });
    expect(releaseDecision(bound, web, NOW)).toEqual({ action: 'keep' });
  });

  it('lets a bound claim go at once when its VM is gone, and waits again after a hand-out', () => {
    const bound = annotated(claim(1_000), { [BOUND_TO]: 'uid-1' });
    expect(releaseDecision(bound, undefined, NOW)).toMatchObject({ action: 'delete' });
    const handedOut = annotated(claim(10 * CLAIM_GRACE_MS), {
      [CLAIMED_AT]: new Date(NOW.getTime() - 5_000).toISOString(),
    });
    expect(releaseDecision(handedOut, undefined, NOW)).toEqual({
      action: 'wait',
      afterMs: CLAIM_GRACE_MS - 5_000,
    });
  });

  it('lets go once the VM is gone or carries another address', () => {
    expect(releaseDecision(claim(CLAIM_GRACE_MS), undefined, NOW)).toEqual({
      action: 'delete',
      why: 'VirtualMachine a/web is gone',
    });
    const moved = vm([{ name: 'nic0', network: 'lab', ipAddress: '10.0.0.6' }]);
    expect(releaseDecision(claim(CLAIM_GRACE_MS), moved, NOW)).toMatchObject({
      action: 'delete',
      why: 'VirtualMachine a/web no longer carries 10.0.0.5',
    });
  });
});

describe('network status', () => {
  const cond = (c: object) => ({ ...c, lastTransitionTime: NOW.toISOString() }) as never;

  it('counts the pool and says it is ready', () => {
    const s = networkStatus(lab(), [claim(0), claim(0, { kind: 'MAC', network: undefined })], cond);
    expect(s.pool).toEqual({ size: 5, allocated: 1, free: 4 });
    expect(s.observedGeneration).toBe(3);
    expect(s.conditions?.[0]).toMatchObject({ status: 'True', message: '4 of 5 addresses free' });
  });

  it('is not ready when a range ends before it starts', () => {
    const bad = lab({ cidr: '10.0.0.0/24', ranges: [{ start: '10.0.0.9', end: '10.0.0.3' }] });
    expect(poolProblem(bad)).toBe(
      'spec.ipam.staticPool.ranges[0]: start 10.0.0.9 is after end 10.0.0.3',
    );
    expect(networkStatus(bad, [], cond).conditions?.[0]).toMatchObject({
      status: 'False',
      reason: 'InvalidSpec',
    });
  });
});

describe('status interfaces', () => {
  it('lists every spec interface, running or not, with what the engine observes', () => {
    const web = vm([
      { name: 'nic0', network: 'lab', macAddress: '02:76:6d:00:00:01', ipAddress: '10.0.0.5' },
      { name: 'pod', macAddress: '02:76:6d:00:00:02' },
    ]);
    expect(statusInterfaces(web, undefined)).toEqual([
      { name: 'nic0', network: 'lab', macAddress: '02:76:6d:00:00:01', ipAddress: '10.0.0.5' },
      { name: 'pod', macAddress: '02:76:6d:00:00:02' },
    ]);
    expect(statusInterfaces(web, [{ name: 'pod', ipAddresses: ['10.0.2.2'] }])?.[1]).toEqual({
      name: 'pod',
      macAddress: '02:76:6d:00:00:02',
      ipAddresses: ['10.0.2.2'],
    });
  });
});
