import { describe, expect, it } from 'vitest';
import type { KvVmi } from '../engine-context.ts';
import { attachmentsOf, pinsOf } from './attachments.ts';

const vmi = (spec: KvVmi['spec']): KvVmi => ({ metadata: { name: 'a', uid: 'u1' }, spec });

describe("a VMI's network attachments", () => {
  it('pairs each card with its network, keeping its MAC or making one', () => {
    const got = attachmentsOf(
      vmi({
        domain: {
          devices: {
            interfaces: [
              { name: 'default', masquerade: {}, bootOrder: 1 },
              { name: 'blue', bridge: {}, macAddress: '02:76:6D:00:00:02' },
            ],
          },
        },
        networks: [
          { name: 'default', pod: {} },
          { name: 'blue', multus: { networkName: 'blue' } } as never,
        ],
      }),
    );
    expect(got).toEqual([
      {
        name: 'default',
        mac: expect.stringMatching(/^52:54:00:/),
        tap: 'tap0',
        bootable: true,
        network: { kind: 'pod' },
      },
      {
        name: 'blue',
        mac: '02:76:6d:00:00:02',
        tap: 'tap1',
        bootable: false,
        network: { kind: 'multus', networkName: 'blue' },
      },
    ]);
  });

  it('names a card without a network it can play', () => {
    const got = attachmentsOf(
      vmi({ domain: { devices: { interfaces: [{ name: 'x', bridge: {} }] } }, networks: [] }),
    );
    expect(String(got)).toMatch(/interfaces\[0\] \(x\): no spec.networks entry/);
  });

  it("reads the pins from the cloudInitNoCloud volume's network data", () => {
    const networkData =
      'version: 2\nethernets:\n  e:\n    match: {macaddress: "02:00:00:00:00:01"}\n    addresses: [192.168.9.5/24]\n';
    expect(
      pinsOf(vmi({ volumes: [{ name: 'ci', cloudInitNoCloud: { networkData } } as never] })),
    ).toEqual([{ mac: '02:00:00:00:00:01', address: '192.168.9.5/24' }]);
    expect(pinsOf(vmi({}))).toEqual([]);
  });
});
