import { describe, expect, it } from 'vitest';
import { networkChoices, type NetworkView, wizardInterfaces } from './networks';

const net = (name: string, spec: NetworkView['spec'], status?: NetworkView['status']) => ({
  metadata: { name },
  spec,
  ...(status ? { status } : {}),
});

const networks: NetworkView[] = [
  net(
    'vlan100',
    {
      l2: { vlanID: 100 },
      ipam: { staticPool: { cidr: '192.168.100.0/24' } },
      namespaceSelector: { matchLabels: { team: 'web' } },
    },
    { pool: { size: 252, allocated: 3, free: 249 } }
  ),
  net('lab', { type: 'L2', ipam: { externalDHCP: {} } }),
  net(
    'full',
    { ipam: { staticPool: { cidr: '10.9.0.0/30' } } },
    { pool: { size: 1, allocated: 1, free: 0 } }
  ),
  net('pods', { type: 'Pod' }),
  net('ops-only', {
    ipam: { externalDHCP: {} },
    namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['ops'] }] },
  }),
];

describe('networkChoices', () => {
  it('offers the L2 networks whose namespaceSelector selects the namespace, by name', () => {
    expect(networkChoices(networks, { team: 'web' })).toEqual([
      { name: 'full', label: 'full — L2, 10.9.0.0/30, 0 of 1 addresses free', full: true },
      { name: 'lab', label: 'lab — L2, DHCP', full: false },
      {
        name: 'vlan100',
        label: 'vlan100 — L2, VLAN 100, 192.168.100.0/24, 249 of 252 addresses free',
        full: false,
      },
    ]);
  });

  it('leaves out networks the namespace may not use, and the pod network', () => {
    expect(networkChoices(networks, { team: 'ops' }).map(c => c.name)).toEqual([
      'full',
      'lab',
      'ops-only',
    ]);
    expect(networkChoices(networks, undefined).map(c => c.name)).toEqual(['full', 'lab']);
  });
});

describe('wizardInterfaces', () => {
  it('writes nothing for the pod network alone, and pod first then the chosen network', () => {
    expect(wizardInterfaces('')).toEqual([]);
    expect(wizardInterfaces('vlan100')).toEqual([
      { name: 'default' },
      { name: 'nic1', network: 'vlan100' },
    ]);
  });
});
