// kubevirt.io/v1 VirtualMachines as fast-check generates them for the engine's command-line
// property test: hostile values everywhere the engine takes a value from (MACs with commas, '='
// and romfile=, every notation Go's net.ParseMAC reads, odd, huge and negative memory, vCPU
// counts from 0 to 2^32, names with commas, claim names, runStrategy values).
import fc from 'fast-check';
import type { KvVm } from '../../engine/src/engine-context.ts';
import type { VolumeSpec } from '../../engine/src/volumes.ts';

/** One of the values, the first `common` times as likely as each rarer one (mostly valid). */
function mostly<T>(common: number, first: T, ...rare: T[]): fc.Arbitrary<T> {
  return fc.oneof(
    { weight: common, arbitrary: fc.constant(first) },
    { weight: 1, arbitrary: fc.constantFrom(...rare) },
  );
}

const HOSTILE = [',', '=', ',romfile=/x', ',,', ',id=net1', ' ', 'A', '.', '_', '/', ':', '\n'];

/** A name: a plain label, a long one, or one with something QEMU's syntax could take as syntax. */
const nameArb = fc.oneof(
  { weight: 16, arbitrary: fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$/) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('a'.repeat(63), 'b'.repeat(64), `vol-${'c'.repeat(40)}`),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('disk', 'root', 'd'), fc.constantFrom(...HOSTILE), fc.nat(9))
      .map(([a, h, n]) => `${a}${h}${n}`),
  },
);

const byteArb = fc.integer({ min: 0, max: 255 });
const hex = (b: number): string => b.toString(16).padStart(2, '0');

/** A MAC as KubeVirt may be given one: every notation Go's net.ParseMAC reads, and worse. */
const macArb: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.array(byteArb, { minLength: 6, maxLength: 6 }), fc.constantFrom('lower', 'upper'))
      .map(([b, c]) => {
        const s = [b[0]! & 0xfe, ...b.slice(1)].map(hex).join(':');
        return c === 'upper' ? s.toUpperCase() : s;
      }),
  },
  {
    weight: 2,
    arbitrary: fc.array(byteArb, { minLength: 6, maxLength: 6 }).map((b) => b.map(hex).join('-')),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(byteArb, { minLength: 6, maxLength: 6 })
      .map(
        (b) => `${hex(b[0]!)}${hex(b[1]!)}.${hex(b[2]!)}${hex(b[3]!)}.${hex(b[4]!)}${hex(b[5]!)}`,
      ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      '00:00:00:00:00:00',
      'ff:ff:ff:ff:ff:ff',
      '01:00:5e:00:00:01',
      '52:54:00:12:34:56,romfile=/tmp/evil.rom',
      '52:54:00:12:34:56,,romfile=/x',
      '52:54:00:12:34:56=',
      'romfile=/x',
      'mac=52:54:00:12:34:56',
      '52:54:00:12:34',
      '52:54:00:12:34:56:78:9a',
      '52:54:00:12:34:5g',
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('52:54:00:ab:cd:ef', '02:00:00:00:00:01'), fc.constantFrom(...HOSTILE))
      .map(([m, h]) => `${m}${h}`),
  },
);

/** Memory quantities: plain, odd (fractions, exponents, milli-bytes), huge, negative, not one. */
const quantityArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 1024 }), fc.constantFrom('Mi', 'M'))
      .map(([n, s]) => `${n}${s}`),
  },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.integer({ min: 0, max: 5000 }),
        fc.constantFrom('Mi', 'Gi', 'M', 'G', 'Ki', 'k', '', 'Ti', 'Ei', 'm'),
      )
      .map(([n, s]) => `${n}${s}`),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '64Mi',
      '128Mi',
      '256Mi',
      '1Gi',
      '0',
      '1',
      '1M',
      '1Mi',
      '1.5Mi',
      '15Mi',
      '16Mi',
      '129.5Mi',
      '-1Gi',
      '-0',
      '+128Mi',
      '1E',
      '1Ei',
      '9999Ei',
      '64e6',
      '2e9',
      '5.Gi',
      '64000000000m',
      ' 128Mi',
      '1Gi,romfile=x',
      'abc',
      '',
      '1e400',
      `${2 ** 53}`,
    ),
  },
);

/** vCPU topology counts: none, small, zero, huge, negative, not whole. */
const countArb: fc.Arbitrary<number | undefined> = fc.oneof(
  { weight: 10, arbitrary: fc.constant(undefined) },
  { weight: 10, arbitrary: fc.constant(1) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 4 }) },
  { weight: 2, arbitrary: fc.constantFrom(0, 64, 2 ** 16, 2 ** 31, 2 ** 32 - 1, 2 ** 32, -1, 1.5) },
);

interface GenVolume {
  name: string;
  kind: 'pvc' | 'dataVolume' | 'cloudInit' | 'containerDisk';
  ref: string;
  readOnly: boolean | undefined;
  /** The domain's disk for it: with the volume's name, none, or another name. */
  disk: 'same' | 'none' | 'other';
  bus: 'virtio' | undefined;
}

const volumeArb: fc.Arbitrary<GenVolume> = fc.record({
  name: nameArb,
  kind: fc.constantFrom('pvc', 'pvc', 'dataVolume', 'dataVolume', 'cloudInit', 'containerDisk'),
  ref: nameArb,
  readOnly: fc.constantFrom(undefined, true, false),
  disk: mostly(16, 'same' as const, 'none', 'other'),
  bus: fc.constantFrom('virtio', undefined),
});

function volumeSpec(v: GenVolume): VolumeSpec & Record<string, unknown> {
  switch (v.kind) {
    case 'pvc':
      return {
        name: v.name,
        persistentVolumeClaim: {
          claimName: v.ref,
          ...(v.readOnly !== undefined ? { readOnly: v.readOnly } : {}),
        },
      };
    case 'dataVolume':
      return { name: v.name, dataVolume: { name: v.ref } };
    case 'cloudInit':
      return { name: v.name, cloudInitNoCloud: { userData: '#cloud-config\n' } };
    case 'containerDisk':
      return { name: v.name, containerDisk: { image: `quay.io/containerdisks/${v.ref}` } };
  }
}

export const kubevirtVmArb = fc
  .record({
    name: nameArb,
    uid: fc.uuid(),
    runStrategy: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(undefined, 'Always', 'Halted', 'Manual', 'Once') },
      { weight: 2, arbitrary: fc.constant('RerunOnFailure') },
      {
        weight: 1,
        arbitrary: fc.constantFrom('WaitAsReceiver', 'always', 'Always,romfile=x', ''),
      },
    ),
    running: mostly(12, undefined, true, false),
    cores: countArb,
    sockets: countArb,
    threads: countArb,
    memory: fc.constantFrom('requests', 'requests', 'requests', 'guest', 'guest', 'both', 'none'),
    guest: quantityArb,
    requests: quantityArb,
    card: fc.constantFrom(
      ...(['none', 'masquerade', 'bridge'] as const).flatMap((c) => [c, c, c]),
      'networkOnly',
    ),
    cardName: fc.oneof(fc.constant('default'), nameArb),
    networkName: mostly(12, 'same', 'other'),
    mac: macArb,
    cardBootOrder: fc.constantFrom(undefined, undefined, 1, 2),
    volumes: fc.array(volumeArb, { maxLength: 3 }),
    startStrategy: fc.oneof(
      { weight: 12, arbitrary: fc.constant(undefined) },
      { weight: 3, arbitrary: fc.constant('Paused') },
      { weight: 1, arbitrary: fc.constant('paused') },
    ),
  })
  .map((g) => {
    const cpu = Object.fromEntries(
      (['cores', 'sockets', 'threads'] as const).flatMap((k) =>
        g[k] === undefined ? [] : [[k, g[k]]],
      ),
    );
    const card =
      g.card === 'masquerade' || g.card === 'bridge'
        ? [
            {
              name: g.cardName,
              [g.card]: {},
              ...(g.mac !== undefined ? { macAddress: g.mac } : {}),
              ...(g.cardBootOrder !== undefined ? { bootOrder: g.cardBootOrder } : {}),
            },
          ]
        : undefined;
    const networks =
      g.card === 'none'
        ? undefined
        : [{ name: g.networkName === 'same' ? g.cardName : `${g.cardName}x`, pod: {} }];
    const spec = {
      domain: {
        ...(Object.keys(cpu).length ? { cpu } : {}),
        ...(g.memory === 'guest' || g.memory === 'both' ? { memory: { guest: g.guest } } : {}),
        ...(g.memory === 'requests' || g.memory === 'both'
          ? { resources: { requests: { memory: g.requests } } }
          : {}),
        devices: {
          ...(card ? { interfaces: card } : {}),
          disks: g.volumes
            .filter((v) => v.disk !== 'none')
            .map((v) => ({
              name: v.disk === 'same' ? v.name : `${v.name}-other`,
              disk: v.bus ? { bus: v.bus } : {},
            })),
        },
      },
      ...(networks ? { networks } : {}),
      volumes: g.volumes.map(volumeSpec),
      ...(g.startStrategy ? { startStrategy: g.startStrategy } : {}),
    };
    return {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: g.name, namespace: 'prop', uid: g.uid },
      spec: {
        ...(g.runStrategy !== undefined ? { runStrategy: g.runStrategy } : {}),
        ...(g.running !== undefined ? { running: g.running } : {}),
        template: { metadata: { labels: { app: 'prop' } }, spec },
      },
    } as unknown as KvVm & { metadata: { uid: string } };
  });
