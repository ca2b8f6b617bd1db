import { describe, expect, it } from 'vitest';
import { dhcpRange, nadBridge, nadRef, pinsFromNetworkData, segmentFor } from './l2-config.ts';

const nad = (config: object | string) => ({
  metadata: { name: 'blue', namespace: 'ns' },
  spec: { config: typeof config === 'string' ? config : JSON.stringify(config) },
});

describe('L2 networks in the sandbox', () => {
  it('takes the bridge from a CNI bridge config, a VLAN as its own bridge', () => {
    expect(nadBridge(nad({ type: 'bridge', bridge: 'br-blue' }))).toBe('br-blue');
    expect(nadBridge(nad({ type: 'bridge', bridge: 'br-blue', vlan: 12 }))).toBe('br-blue.12');
    expect(nadBridge(nad({ plugins: [{ type: 'bridge', bridge: 'b1' }] }))).toBe('b1');
  });

  it('refuses what it cannot play, naming the NAD and the field', () => {
    expect(String(nadBridge(nad({ type: 'macvlan' })))).toMatch(
      /ns\/blue: spec.config type "macvlan": the local engine plays only the CNI "bridge" plugin/,
    );
    expect(String(nadBridge(nad({ type: 'bridge', vlan: 5000 })))).toMatch(/vlan 5000: 1 to 4094/);
    expect(String(nadBridge(nad({ type: 'bridge', bridge: 'a-very-long-bridge' })))).toMatch(
      /at most 15/,
    );
    expect(String(nadBridge(nad('{')))).toMatch(/not JSON/);
  });

  it('finds a NAD by name in the VMI namespace, or by namespace/name', () => {
    expect(nadRef('blue', 'ns')).toEqual({ namespace: 'ns', name: 'blue' });
    expect(nadRef('other/blue', 'ns')).toEqual({ namespace: 'other', name: 'blue' });
  });

  it('reads the pinned addresses of cloud-init network data v2', () => {
    const text = [
      'version: 2',
      'ethernets:',
      '  pod:',
      '    match: {macaddress: "02:76:6d:00:00:01"}',
      '    dhcp4: true',
      '  blue:',
      '    match: {macaddress: "02:76:6D:00:00:02"}',
      '    addresses: [192.168.77.10/24]',
      '    gateway4: 192.168.77.1',
    ].join('\n');
    expect(pinsFromNetworkData(text)).toEqual([
      { mac: '02:76:6d:00:00:02', address: '192.168.77.10/24', gateway: '192.168.77.1' },
    ]);
    expect(pinsFromNetworkData('network:\n  version: 2\n  ethernets: {}\n')).toEqual([]);
    expect(pinsFromNetworkData(': :')).toEqual([]);
  });

  it('serves a segment: pinned addresses statically, else a range of the picked subnet', () => {
    const pinned = segmentFor([{ mac: 'm', address: '192.168.77.10/24' }], '10.245.0.0/24');
    expect(pinned).toEqual({ cidr: '192.168.77.0/24', serverIP: '192.168.77.254', pinned: true });
    expect(dhcpRange(pinned)).toBe('192.168.77.0,static,255.255.255.0,1h');
    const gw = segmentFor(
      [{ mac: 'm', address: '192.168.77.10/24', gateway: '192.168.77.1' }],
      '10.245.0.0/24',
    );
    expect(gw.serverIP).toBe('192.168.77.1');
    const free = segmentFor([], '10.245.3.0/24');
    expect(free).toEqual({ cidr: '10.245.3.0/24', serverIP: '10.245.3.1', pinned: false });
    expect(dhcpRange(free)).toBe('10.245.3.10,10.245.3.254,255.255.255.0,1h');
  });
});
