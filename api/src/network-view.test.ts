import { describe, expect, it } from 'vitest';
import {
  interfaceRows,
  namespaceMayUse,
  networkRow,
  selectorText,
  type NetworkView,
} from './network-view.ts';

const vlan: NetworkView = {
  metadata: { name: 'vlan100' },
  spec: {
    type: 'L2',
    l2: { vlanID: 100 },
    ipam: { staticPool: { cidr: '192.168.100.0/24', gateway: '192.168.100.1' } },
    namespaceSelector: {
      matchLabels: { team: 'web' },
      matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'dev'] }],
    },
  },
  status: { pool: { size: 252, allocated: 3, free: 249 } },
};

describe('networkRow', () => {
  it('shows type, VLAN, CIDR, pool usage and the namespaces a static-pool network admits', () => {
    expect(networkRow(vlan)).toEqual([
      'L2',
      '100',
      '192.168.100.0/24',
      '3',
      '249',
      'team=web,env in (prod,dev)',
    ]);
  });

  it('says DHCP, no pool counts and every namespace for an external-DHCP network without selector', () => {
    const dhcp: NetworkView = {
      metadata: { name: 'lab' },
      spec: { ipam: { externalDHCP: {} } },
      status: { pool: { allocated: 9, free: 1 } },
    };
    expect(networkRow(dhcp)).toEqual(['L2', '', 'DHCP', '', '', 'all']);
  });

  it('shows a pod network with nothing but its type', () => {
    expect(networkRow({ metadata: { name: 'p' }, spec: { type: 'Pod' } })).toEqual([
      'Pod',
      '',
      '',
      '',
      '',
      'all',
    ]);
  });

  it('shows a zero count as 0, not as empty', () => {
    const full = { ...vlan, status: { pool: { size: 2, allocated: 2, free: 0 } } };
    expect(networkRow(full).slice(3, 5)).toEqual(['2', '0']);
  });
});

describe('selectorText', () => {
  it('writes every operator as kubectl does', () => {
    expect(
      selectorText({
        matchExpressions: [
          { key: 'a', operator: 'NotIn', values: ['x'] },
          { key: 'b', operator: 'Exists' },
          { key: 'c', operator: 'DoesNotExist' },
        ],
      }),
    ).toBe('a notin (x),b,!c');
    expect(selectorText({})).toBe('all');
  });
});

describe('namespaceMayUse', () => {
  it('admits the namespaces the selector selects and only those', () => {
    expect(namespaceMayUse(vlan, { team: 'web', env: 'prod' })).toBe(true);
    expect(namespaceMayUse(vlan, { team: 'web', env: 'test' })).toBe(false);
    expect(namespaceMayUse(vlan, { env: 'prod' })).toBe(false);
    expect(namespaceMayUse({ metadata: {}, spec: {} }, {})).toBe(true);
  });
});

describe('interfaceRows', () => {
  it('joins spec and status by name: network, MAC, allocated IP, observed IPs', () => {
    expect(
      interfaceRows({
        spec: {
          network: {
            interfaces: [
              { name: 'nic0' },
              { name: 'nic1', network: 'vlan100', macAddress: '02:76:6d:00:00:02' },
            ],
          },
        },
        status: {
          interfaces: [
            {
              name: 'nic1',
              network: 'vlan100',
              macAddress: '02:76:6d:00:00:02',
              ipAddress: '192.168.100.7',
              ipAddresses: ['192.168.100.7', 'fe80::76:6dff:fe00:2'],
            },
            { name: 'nic0', macAddress: '02:76:6d:00:00:01', ipAddresses: ['10.0.2.2'] },
          ],
        },
      }),
    ).toEqual([
      { name: 'nic0', network: 'pod', mac: '02:76:6d:00:00:01', ip: '', observed: '10.0.2.2' },
      {
        name: 'nic1',
        network: 'vlan100',
        mac: '02:76:6d:00:00:02',
        ip: '192.168.100.7',
        observed: '192.168.100.7,fe80::76:6dff:fe00:2',
      },
    ]);
  });

  it('shows the one default pod interface of a VM that names none, before it ever ran', () => {
    expect(interfaceRows({ spec: {} })).toEqual([
      { name: 'default', network: 'pod', mac: '', ip: '', observed: '' },
    ]);
  });

  it("takes the spec's address when status has none yet", () => {
    const [row] = interfaceRows({
      spec: {
        network: {
          interfaces: [
            { name: 'a', network: 'n', macAddress: '02:76:6d:00:00:09', ipAddress: '10.1.0.5' },
          ],
        },
      },
    });
    expect(row).toMatchObject({ mac: '02:76:6d:00:00:09', ip: '10.1.0.5' });
  });
});
