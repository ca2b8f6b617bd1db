// The command line, read back as QEMU reads it, over generated specs with hostile values (commas,
// equals signs, option syntax, control characters, non-numbers, long paths): either every option
// holds exactly what the spec asked and nothing else, or the builder refuses the spec with a
// QemuSpecError that names a field. Valid specs are never refused.
import fc from 'fast-check';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NET_DUMP_ID, qemuArgs, QEMU_SANDBOX, type QemuSpec } from './qemu-args.ts';
import { diskNames, type QemuDisk } from './qemu-disks.ts';
import { parseQemuArgs, type ParsedOption } from './qemu-options.ts';
import { QemuSpecError } from './qemu-spec.ts';

const limits = { maxCpus: 8, maxMemoryMiB: 8192 };

/** What QEMU should read for the spec, written out from the spec itself. */
function expected(s: QemuSpec): ParsedOption[] {
  const socket = (id: string, file: string): ParsedOption => ({
    name: '-chardev',
    props: { backend: 'socket', id, path: join(s.dir, file), server: 'on', wait: 'off' },
  });
  const onOff = (b: boolean): string => (b ? 'on' : 'off');
  return [
    { name: '-nodefaults' },
    { name: '-no-user-config' },
    ...(s.sandbox === false
      ? []
      : [{ name: '-sandbox', props: { enable: 'on', ...QEMU_SANDBOX } }]),
    { name: '-machine', props: { type: 'q35', accel: s.accel ?? 'tcg' } },
    { name: '-m', props: { size: `${s.memoryMiB}M` } },
    { name: '-smp', props: { cpus: String(s.cpus) } },
    { name: '-display', props: { type: 'none' } },
    socket('serial0', 'serial.sock'),
    { name: '-serial', value: 'chardev:serial0' },
    socket('qmp0', 'qmp.sock'),
    { name: '-mon', props: { chardev: 'qmp0', mode: 'control' } },
    ...(s.screen
      ? [
          { name: '-vga', value: 'std' },
          { name: '-vnc', props: { vnc: `unix:${join(s.dir, 'vnc.sock')}` } },
        ]
      : []),
    socket('agent0', 'ga.sock'),
    { name: '-device', props: { driver: 'virtio-serial-pci', id: 'virtio-serial0' } },
    {
      name: '-device',
      props: {
        driver: 'virtserialport',
        bus: 'virtio-serial0.0',
        chardev: 'agent0',
        name: 'org.qemu.guest_agent.0',
        id: 'channel0',
      },
    },
    ...(s.nic
      ? [
          {
            name: '-netdev',
            props: { type: 'user', id: 'net0', restrict: 'on', net: '10.0.2.0/24' },
          },
          {
            name: '-device',
            props: {
              driver: 'virtio-net-pci',
              netdev: 'net0',
              mac: s.nic.mac,
              ...(s.nic.bootable ? {} : { romfile: '' }),
            },
          },
          ...(s.nic.dumpFile !== undefined
            ? [
                {
                  name: '-object',
                  props: {
                    'qom-type': 'filter-dump',
                    id: NET_DUMP_ID,
                    netdev: 'net0',
                    file: s.nic.dumpFile,
                  },
                },
              ]
            : []),
        ]
      : []),
    ...(s.paused ? [{ name: '-S' }] : []),
    ...(s.kernel !== undefined ? [{ name: '-kernel', value: s.kernel }] : []),
    ...(s.initrd !== undefined ? [{ name: '-initrd', value: s.initrd }] : []),
    ...(s.append !== undefined ? [{ name: '-append', value: s.append }] : []),
    ...(s.disks ?? []).flatMap((d, i): ParsedOption[] => {
      const n = diskNames(d, i);
      const ro = onOff(d.readOnly === true);
      const cache = { 'cache.direct': 'off', 'cache.no-flush': 'off' };
      return [
        {
          name: '-blockdev',
          props: {
            driver: 'file',
            'node-name': n.fileNode,
            filename: d.path,
            aio: 'threads',
            ...cache,
            'read-only': ro,
          },
        },
        {
          name: '-blockdev',
          props: {
            driver: d.format,
            'node-name': n.formatNode,
            file: n.fileNode,
            ...cache,
            'read-only': ro,
            ...(d.readOnly ? {} : { discard: 'unmap' }),
          },
        },
        {
          name: '-device',
          props: { driver: 'virtio-blk-pci', drive: n.formatNode, id: n.deviceId },
        },
      ];
    }),
    ...seedExpected(s.seed),
  ];
}

/** The seed's nodes and device, as QEMU should read them. */
function seedExpected(seed: QemuSpec['seed']): ParsedOption[] {
  if (!seed) return [];
  const ro = seed.cdrom ? 'on' : 'off';
  const cache = { 'cache.direct': 'off', 'cache.no-flush': 'off' };
  const n = diskNames(seed, 0);
  const driver = seed.bus === 'virtio' ? 'virtio-blk-pci' : seed.cdrom ? 'ide-cd' : 'ide-hd';
  return [
    {
      name: '-blockdev',
      props: {
        driver: 'file',
        'node-name': n.fileNode,
        filename: seed.path,
        aio: 'threads',
        ...cache,
        'read-only': ro,
      },
    },
    {
      name: '-blockdev',
      props: {
        driver: 'raw',
        'node-name': n.formatNode,
        file: n.fileNode,
        ...cache,
        'read-only': ro,
      },
    },
    {
      name: '-device',
      props: {
        driver,
        drive: n.formatNode,
        id: n.deviceId,
        ...(seed.bus === 'sata' ? { bus: 'ide.0' } : {}),
      },
    },
  ];
}

/** Pieces that mean something to QEMU's option syntax, to a shell or to a terminal. */
const nasty = fc.constantFrom(
  ',',
  ',,',
  ',,,',
  '=',
  ',romfile=/x',
  ',id=evil',
  ',file.locking=off',
  'server=off',
  ' ',
  '"',
  "'",
  ':',
  'unix:',
  'json:{}',
  '-S',
  '..',
  '/',
  '//',
  'é',
  '💥',
  '\n',
  '\t',
  '\u0000',
  '\u001b[2J',
  '\u007f',
  '\u0085',
);
const hostile = fc
  .array(fc.oneof(fc.string({ maxLength: 6 }), nasty), { maxLength: 5 })
  .map((parts) => parts.join(''));
/** Printable pieces, commas and equals signs included: all of them valid in a path. */
const printable = fc
  .array(
    fc.oneof(
      fc.string({ maxLength: 6 }).filter((p) => !/\p{Cc}/u.test(p)),
      fc.constantFrom(',', ',,', '=', ',id=x', 'é'),
    ),
    { maxLength: 4 },
  )
  .map((parts) => parts.join(''));

const path = (piece: fc.Arbitrary<string>): fc.Arbitrary<string> => piece.map((p) => `/srv/${p}`);
const anyPath = fc.oneof(
  { weight: 4, arbitrary: path(hostile) },
  { weight: 1, arbitrary: hostile },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: path(fc.constant('x'.repeat(4100))) },
);
const notANumber = fc.constantFrom(
  NaN,
  Infinity,
  -1,
  0,
  1.5,
  '256' as unknown as number,
  '1,x=y' as unknown as number,
);
const hex = (b: number): string => b.toString(16).padStart(2, '0');
const goodMac = fc
  .tuple(
    fc.integer({ min: 0, max: 127 }).map((b) => b * 2),
    fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 5, maxLength: 5 }),
  )
  .filter(([first, rest]) => first !== 0 || rest.some((b) => b !== 0))
  .map(([first, rest]) => [first, ...rest].map(hex).join(':'));
const volumeName = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,40}$/);
const optional = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.option(a, { nil: undefined });
/** Mostly the good value, now and then the other: a spec is then often accepted as a whole. */
const mostly = <T>(good: fc.Arbitrary<T>, other: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: 8, arbitrary: good }, { weight: 1, arbitrary: other });

/** Whether a spec holds only what the command line accepts, written out independently. */
function valid(s: QemuSpec): boolean {
  const path = (p: unknown): boolean =>
    typeof p === 'string' && p.startsWith('/') && !/\p{Cc}/u.test(p) && Buffer.byteLength(p) < 4096;
  const count = (n: unknown, max: number): boolean =>
    typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= max;
  const mac = (m: string): boolean =>
    /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(m) &&
    parseInt(m.slice(0, 2), 16) % 2 === 0 &&
    !/^00(:00){5}$/.test(m);
  const names = (s.disks ?? []).map((d, i) => d.name ?? `disk${i}`);
  return (
    path(s.dir) &&
    Buffer.byteLength(join(s.dir, 'serial.sock')) <= 107 &&
    count(s.memoryMiB, limits.maxMemoryMiB) &&
    count(s.cpus, limits.maxCpus) &&
    [s.kernel, s.initrd].every((p) => p === undefined || path(p)) &&
    (s.append === undefined || (!/\p{Cc}/u.test(s.append) && Buffer.byteLength(s.append) < 2048)) &&
    ['tcg', 'kvm', undefined].includes(s.accel) &&
    (!s.nic || (mac(s.nic.mac) && (s.nic.dumpFile === undefined || path(s.nic.dumpFile)))) &&
    (s.disks ?? []).every(
      (d, i) =>
        path(d.path) &&
        ['qcow2', 'raw'].includes(d.format) &&
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(names[i] as string),
    ) &&
    new Set(names).size === names.length &&
    (!s.seed ||
      (path(s.seed.path) &&
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(s.seed.name) &&
        !names.includes(s.seed.name) &&
        (s.seed.bus === 'sata' || (s.seed.bus === 'virtio' && !s.seed.cdrom))))
  );
}

interface Hostile {
  path: fc.Arbitrary<string>;
  mac: fc.Arbitrary<string>;
  number: fc.Arbitrary<number>;
  word: fc.Arbitrary<string>;
}

/** Specs of valid values (paths with commas and equals signs included), or, with `bad`, specs
 * where any field may now and then take a hostile value instead. */
function specArb(bad?: Hostile): fc.Arbitrary<QemuSpec> {
  const or = <T>(
    good: fc.Arbitrary<T>,
    other: fc.Arbitrary<unknown> | undefined,
  ): fc.Arbitrary<T> => (other ? mostly(good, other as fc.Arbitrary<T>) : good);
  const goodPath = path(printable);
  const p = or(goodPath, bad?.path);
  const count = (max: number): fc.Arbitrary<number> => or(fc.integer({ min: 1, max }), bad?.number);
  const disk: fc.Arbitrary<QemuDisk> = fc.record(
    {
      path: p,
      format: or(fc.constantFrom('qcow2' as const, 'raw' as const), bad?.word),
      readOnly: fc.boolean(),
      name: or(volumeName, bad?.word),
    },
    { requiredKeys: ['path', 'format'] },
  );
  return fc
    .record(
      {
        dir: or(goodPath, bad && fc.oneof(bad.path, path(fc.constant('x'.repeat(100))))),
        memoryMiB: count(limits.maxMemoryMiB),
        cpus: count(limits.maxCpus),
        kernel: p,
        initrd: p,
        append: or(fc.constantFrom('console=ttyS0 panic=-1', 'a=b,c=d x,,y'), bad?.word),
        disks: fc
          .array(disk, { maxLength: 3 })
          .filter(
            (ds) => new Set(ds.map((d, i) => d.name ?? `disk${i}`)).size === ds.length || !!bad,
          ),
        accel: or(fc.constantFrom('tcg' as const, 'kvm' as const), bad?.word),
        nic: fc.record(
          { mac: or(goodMac, bad?.mac), dumpFile: optional(p), bootable: optional(fc.boolean()) },
          { requiredKeys: ['mac'] },
        ),
        paused: fc.boolean(),
        screen: fc.boolean(),
        sandbox: fc.boolean(),
        seed: fc.record({
          path: p,
          name: or(fc.constantFrom('cloudinitdisk', 'seed', 'disk0'), bad?.word),
          cdrom: fc.boolean(),
          bus: or(fc.constantFrom('virtio' as const, 'sata' as const), bad?.word),
        }),
      },
      { requiredKeys: ['dir', 'memoryMiB', 'cpus'] },
    )
    .filter(
      // Without hostile values, the seed is a valid one: a cdrom on sata, a name of its own.
      (s) =>
        !!bad ||
        !s.seed ||
        ((s.seed.bus === 'sata' || !s.seed.cdrom) &&
          !(s.disks ?? []).some((d, i) => (d.name ?? `disk${i}`) === s.seed?.name)),
    )
    .map((s) => ({
      ...s,
      ...(s.kernel === undefined ? { initrd: undefined, append: undefined } : {}),
      limits,
    }))
    .map(
      (s) =>
        Object.fromEntries(
          Object.entries(s).filter(([, v]) => v !== undefined),
        ) as unknown as QemuSpec,
    );
}

const FIELDS =
  /^(dir|memoryMiB|cpus|kernel|initrd|append|accel|nic\.mac|nic\.dumpFile|seed\.(path|name|bus)|disks\[\d\]\.(path|format|name)): .+ is not accepted; accepted: .+/s;

describe('the command line over generated specs', () => {
  it('holds exactly what the spec asked, or the spec is refused with an error naming the field', () => {
    const arb = specArb({
      path: anyPath,
      mac: fc.oneof(
        hostile,
        fc.tuple(goodMac, hostile).map(([m, h]) => m + h),
      ),
      number: notANumber,
      word: hostile,
    });
    fc.assert(
      fc.property(arb, (s) => {
        let args: string[];
        try {
          args = qemuArgs(s);
        } catch (e) {
          expect(e).toBeInstanceOf(QemuSpecError);
          expect((e as Error).message).toMatch(FIELDS);
          expect(valid(s), 'a refused spec is not valid').toBe(false);
          return;
        }
        expect(valid(s), 'an accepted spec is valid').toBe(true);
        expect(parseQemuArgs(args)).toEqual(expected(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses no valid spec, whatever its paths hold (commas, equals signs, option syntax)', () => {
    const arb = specArb();
    fc.assert(
      fc.property(arb, (s) => {
        expect(valid(s)).toBe(true);
        expect(parseQemuArgs(qemuArgs(s))).toEqual(expected(s));
      }),
      { numRuns: 1000 },
    );
  });
});
