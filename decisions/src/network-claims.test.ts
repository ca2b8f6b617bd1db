import { describe, expect, it } from 'vitest';
import type { Network, NetworkAddress, VirtualMachine } from '../../api/generated/types.ts';
import {
  BOUND_TO,
  boundTo,
  checkGivenIp,
  claimAge,
  CLAIMED_AT,
  claimVerdict,
  CLAIM_GRACE_MS,
  interfacesToClaim,
  mayAssignUnclaimed,
  namespaceDenials,
  podNetworkDenials,
} from './network-claims.ts';

const NOW = new Date('2026-12-07T08:00:00Z');

function claim(
  over: Partial<NetworkAddress['spec']> = {},
  ageMs = 10 * CLAIM_GRACE_MS,
): NetworkAddress {
  return {
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'NetworkAddress',
    metadata: {
      name: 'mac-02-76-6d-00-00-01',
      creationTimestamp: new Date(NOW.getTime() - ageMs).toISOString(),
    } as unknown as NetworkAddress['metadata'],
    spec: {
      kind: 'MAC',
      address: '02:76:6d:00:00:01',
      vm: { namespace: 'a', name: 'web', interface: 'nic0' },
      ...over,
    },
  };
}

function withAnnotations(c: NetworkAddress, annotations: Record<string, string>): NetworkAddress {
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

function net(name: string, spec: Network['spec']): Network {
  return { apiVersion: 'vmplane.io/v1alpha1', kind: 'Network', metadata: { name }, spec };
}

const lab = net('lab', { type: 'L2', ipam: { staticPool: { cidr: '192.168.100.0/28' } } });

describe('which interfaces need claims', () => {
  const pool = (n: string) => n === 'lab';

  it('takes every interface on create', () => {
    const ifaces = [
      { name: 'a', macAddress: '02:00:00:00:00:01' },
      { name: 'b', network: 'lab' },
    ];
    expect(interfacesToClaim(ifaces, undefined, pool).map((w) => w.index)).toEqual([0, 1]);
  });

  it('on update, takes only the new, incomplete or changed ones', () => {
    const old = [
      { name: 'same', macAddress: '02:76:6d:00:00:01' },
      { name: 'pool', network: 'lab', macAddress: '02:76:6d:00:00:02', ipAddress: '192.168.100.2' },
      {
        name: 'moved',
        network: 'lab',
        macAddress: '02:76:6d:00:00:03',
        ipAddress: '192.168.100.3',
      },
      { name: 'nomac' },
    ];
    const now = [
      old[0]!,
      old[1]!,
      { ...old[2]!, ipAddress: '192.168.100.4' },
      old[3]!,
      { name: 'new', macAddress: '02:76:6d:00:00:09' },
    ];
    expect(interfacesToClaim(now, old, pool).map((w) => w.iface.name)).toEqual([
      'moved',
      'nomac',
      'new',
    ]);
  });

  it('on update, an interface on a static pool without its address still needs one', () => {
    const old = [{ name: 'p', network: 'lab', macAddress: '02:76:6d:00:00:02' }];
    expect(interfacesToClaim(old, old, pool)).toHaveLength(1);
    expect(interfacesToClaim(old, old, () => false)).toHaveLength(0);
  });
});

describe('whose a claim in the way is', () => {
  const me = { namespace: 'a', name: 'web' };

  it("is this VM's own when namespace and name match (a retried admission)", () => {
    expect(claimVerdict(claim(), me, undefined, NOW)).toBe('mine');
  });

  it('is held by another VM that carries the address', () => {
    const other = { namespace: 'b', name: 'db', interface: 'nic0' };
    const holder = vm([{ name: 'nic0', macAddress: '02:76:6D:00:00:01' }]);
    expect(claimVerdict(claim({ vm: other }), me, holder, NOW)).toBe('held');
  });

  it('is held within the grace period even without its VM (admission in flight)', () => {
    const other = { namespace: 'b', name: 'db', interface: 'nic0' };
    expect(claimVerdict(claim({ vm: other }, CLAIM_GRACE_MS / 2), me, undefined, NOW)).toBe('held');
    expect(claimVerdict(claim({ vm: other }), me, undefined, NOW)).toBe('stale');
  });

  it('counts the grace period from the last hand-out, and not at all once bound to a VM', () => {
    const other = { namespace: 'b', name: 'db', interface: 'nic0' };
    const handedOut = withAnnotations(claim({ vm: other }), {
      [CLAIMED_AT]: new Date(NOW.getTime() - 1_000).toISOString(),
    });
    expect(claimAge(handedOut, NOW)).toBe(1_000);
    expect(claimVerdict(handedOut, me, undefined, NOW)).toBe('held');
    const bound = withAnnotations(claim({ vm: other }, 1_000), { [BOUND_TO]: 'uid-1' });
    expect(boundTo(bound)).toBe('uid-1');
    expect(claimVerdict(bound, me, undefined, NOW)).toBe('stale');
  });

  it('is stale when its VM moved to another address', () => {
    const other = { namespace: 'b', name: 'db', interface: 'nic0' };
    const holder = vm([{ name: 'nic0', macAddress: '02:76:6d:00:00:02' }]);
    expect(claimVerdict(claim({ vm: other }), me, holder, NOW)).toBe('stale');
    const ip = claim({ kind: 'IP', address: '192.168.100.2', network: 'lab', vm: other });
    const onLab = vm([{ name: 'nic0', network: 'lab', ipAddress: '192.168.100.2' }]);
    const onOther = vm([{ name: 'nic0', network: 'lab2', ipAddress: '192.168.100.2' }]);
    expect(claimVerdict(ip, me, onLab, NOW)).toBe('held');
    expect(claimVerdict(ip, me, onOther, NOW)).toBe('stale');
  });
});

describe('given IP addresses', () => {
  it('must lie in the pool', () => {
    expect(
      checkGivenIp(1, { name: 'n', network: 'lab', ipAddress: '192.168.100.5' }, lab),
    ).toBeUndefined();
    expect(
      checkGivenIp(1, { name: 'n', network: 'lab', ipAddress: '192.168.100.15' }, lab),
    ).toEqual({
      field: 'spec.network.interfaces[1].ipAddress',
      code: 422,
      message:
        '"192.168.100.15" is not in the pool of network "lab": use an address of 192.168.100.1-192.168.100.14 (192.168.100.0/28), or omit ipAddress to get a free one',
    });
  });

  it('are refused on a network without a static pool', () => {
    const dhcp = net('dhcp', { type: 'L2', ipam: { externalDHCP: {} } });
    expect(
      checkGivenIp(0, { name: 'n', network: 'dhcp', ipAddress: '10.0.0.5' }, dhcp)?.message,
    ).toMatch(/^"10.0.0.5" cannot be set: network "dhcp" is not a Network with a static pool/);
    expect(
      checkGivenIp(0, { name: 'n', network: 'some-nad', ipAddress: '10.0.0.5' }, undefined)?.field,
    ).toBe('spec.network.interfaces[0].ipAddress');
  });
});

describe('namespaces a network is offered to', () => {
  const only = net('lab', { type: 'L2', namespaceSelector: { matchLabels: { team: 'red' } } });
  const networks = new Map([['lab', only]]);
  const ifaces = [{ name: 'n', network: 'lab' }];

  it('refuses a namespace the selector leaves out, naming both', () => {
    expect(namespaceDenials(ifaces, undefined, 'blue', { team: 'blue' }, networks)).toEqual([
      expect.objectContaining({
        field: 'spec.network.interfaces[0].network',
        code: 403,
        message: expect.stringMatching(/^network "lab" is not offered to namespace "blue"/),
      }),
    ]);
  });

  it('lets selected namespaces, NAD names and unchanged interfaces through', () => {
    expect(namespaceDenials(ifaces, undefined, 'red', { team: 'red' }, networks)).toEqual([]);
    expect(
      namespaceDenials([{ name: 'n', network: 'nad' }], undefined, 'blue', {}, networks),
    ).toEqual([]);
    expect(namespaceDenials(ifaces, ifaces, 'blue', {}, networks)).toEqual([]);
  });
});

describe('the pod network', () => {
  const networks = new Map([
    ['pods', net('pods', { type: 'Pod' })],
    ['lab', net('lab', { type: 'L2' })],
  ]);

  it('takes one interface, however it is named', () => {
    expect(podNetworkDenials([{ name: 'a' }, { name: 'b', network: 'lab' }], networks)).toEqual([]);
    expect(podNetworkDenials([{ name: 'a', network: 'pods' }], networks)).toEqual([]);
  });

  it('refuses a second one, a Network of type Pod beside a plain interface, naming both', () => {
    const [d, ...rest] = podNetworkDenials(
      [{ name: 'a' }, { name: 'b', network: 'lab' }, { name: 'c', network: 'pods' }],
      networks,
    );
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ field: 'spec.network.interfaces[2].network', code: 422 });
    expect(d?.message).toMatch(
      /^interface "c" \(network "pods"\) would be a second interface on the pod network, beside "a"/,
    );
  });
});

describe('a MAC handed out unclaimed when the API server is out of reach', () => {
  const networks = new Map([
    ['pods', net('pods', { type: 'Pod' })],
    ['lab', net('lab', { type: 'L2' })],
  ]);
  const work = (...ifaces: { name: string; network?: string }[]): { iface: (typeof ifaces)[0] }[] =>
    ifaces.map((iface) => ({ iface }));

  it('may be, on the pod network (by default or through a Network of type Pod)', () => {
    expect(mayAssignUnclaimed(work({ name: 'default' }), networks)).toBe(true);
    expect(mayAssignUnclaimed(work({ name: 'p', network: 'pods' }), networks)).toBe(true);
  });

  it('never on an L2 network, an unknown one, nor with nothing to claim', () => {
    expect(mayAssignUnclaimed(work({ name: 'a' }, { name: 'b', network: 'lab' }), networks)).toBe(
      false,
    );
    expect(mayAssignUnclaimed(work({ name: 'x', network: 'gone' }), networks)).toBe(false);
    expect(mayAssignUnclaimed([], networks)).toBe(false);
  });
});
