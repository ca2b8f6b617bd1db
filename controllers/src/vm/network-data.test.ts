import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { NetworkLike } from '../network/types.ts';
import { guestName, networkData } from './network-data.ts';

const networks: Record<string, NetworkLike> = {
  blue: {
    metadata: { name: 'blue' },
    spec: {
      type: 'L2',
      ipam: {
        staticPool: {
          cidr: '192.168.100.0/24',
          gateway: '192.168.100.1',
          nameservers: ['192.168.100.53'],
          search: ['lab.example'],
        },
      },
    },
  },
  green: {
    metadata: { name: 'green' },
    spec: { type: 'L2', ipam: { staticPool: { cidr: '10.20.0.0/16', gateway: '10.20.0.1' } } },
  },
  dhcp: { metadata: { name: 'dhcp' }, spec: { type: 'L2', ipam: { externalDHCP: {} } } },
};
const mac = (n: number): string => `02:76:6D:00:00:0${n}`;

describe('networkData', () => {
  it('is not written for one pod-network interface, or one DHCP interface', () => {
    expect(networkData([{ name: 'default', macAddress: mac(1) }], networks)).toBeUndefined();
    expect(
      networkData([{ name: 'nic0', network: 'dhcp', macAddress: mac(1) }], networks),
    ).toBeUndefined();
  });

  it('pod + two static L2 interfaces: DHCP on the pod one, addresses and DNS on the others, the default route only via the first interface', () => {
    const out = networkData(
      [
        { name: 'default', macAddress: mac(1) },
        { name: 'blue', network: 'blue', macAddress: mac(2), ipAddress: '192.168.100.7' },
        { name: 'green', network: 'green', macAddress: mac(3), ipAddress: '10.20.3.4' },
      ],
      networks,
    );
    expect(parse(out ?? '')).toEqual({
      version: 2,
      ethernets: {
        default: { match: { macaddress: '02:76:6d:00:00:01' }, 'set-name': 'default', dhcp4: true },
        blue: {
          match: { macaddress: '02:76:6d:00:00:02' },
          'set-name': 'blue',
          dhcp4: false,
          addresses: ['192.168.100.7/24'],
          nameservers: { addresses: ['192.168.100.53'], search: ['lab.example'] },
        },
        green: {
          match: { macaddress: '02:76:6d:00:00:03' },
          'set-name': 'green',
          dhcp4: false,
          addresses: ['10.20.3.4/16'],
        },
      },
    });
  });

  it('a static interface first gets the default route through the pool gateway', () => {
    const out = parse(
      networkData(
        [{ name: 'nic0', network: 'green', macAddress: mac(1), ipAddress: '10.20.0.9' }],
        networks,
      ) ?? '',
    );
    expect(out.ethernets.nic0.routes).toEqual([{ to: '0.0.0.0/0', via: '10.20.0.1' }]);
  });

  it('uses DHCP for external-DHCP networks and NetworkAttachmentDefinitions named directly', () => {
    const out = parse(
      networkData(
        [
          { name: 'nic0', network: 'dhcp', macAddress: mac(1) },
          { name: 'nic1', network: 'some-nad', macAddress: mac(2) },
        ],
        networks,
      ) ?? '',
    );
    expect(out.ethernets.nic0.dhcp4).toBe(true);
    expect(out.ethernets.nic1.dhcp4).toBe(true);
  });

  it('is not written when an interface has no MAC address to match by', () => {
    expect(
      networkData(
        [
          { name: 'nic0', macAddress: mac(1) },
          { name: 'nic1', network: 'blue', ipAddress: '192.168.100.8' },
        ],
        networks,
      ),
    ).toBeUndefined();
  });

  it('stays within KubeVirt inline limit: many interfaces fall back to JSON, then compact JSON', () => {
    const many = (n: number, name: (k: number) => string) =>
      Array.from({ length: n }, (_, k) => ({
        name: name(k),
        network: k % 2 ? 'blue' : 'dhcp',
        macAddress: `02:76:6d:00:01:${k.toString(16).padStart(2, '0')}`,
        ...(k % 2 ? { ipAddress: `192.168.100.${100 + k}` } : {}),
      }));
    const json =
      networkData(
        many(14, (k) => `nic${k}`),
        networks,
      ) ?? '';
    expect(json.startsWith('{')).toBe(true);
    expect(JSON.parse(json).ethernets.nic1.nameservers).toEqual({
      addresses: ['192.168.100.53'],
      search: ['lab.example'],
    });
    const sixteen = many(16, (k) => `interface-${k}-xy`);
    const out = networkData(sixteen, networks) ?? '';
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(2048);
    const ethernets = Object.values(JSON.parse(out).ethernets) as Record<string, any>[];
    // Each interface keeps its match, name and address (or DHCP); DNS once, routes once.
    expect(
      ethernets.map((e) => [e.match.macaddress, e['set-name'], e.addresses ?? e.dhcp4]),
    ).toEqual(
      sixteen.map((i) => [i.macAddress, i.name, i.ipAddress ? [`${i.ipAddress}/24`] : true]),
    );
    expect(ethernets.filter((e) => e.nameservers)).toHaveLength(1);
    expect(ethernets.filter((e) => e.routes)).toHaveLength(0);
  });
});

describe('guestName', () => {
  it('keeps names Linux takes and numbers the others', () => {
    expect(guestName('nic0', 0)).toBe('nic0');
    expect(guestName('a-very-long-interface-name', 3)).toBe('eth3');
  });
});
