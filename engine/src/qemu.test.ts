// The command line of a guest, read back as QEMU reads it: every value is what the spec asked,
// and no value adds an option or a property of its own.
import { describe, expect, it } from 'vitest';
import { parseQemuArgs, type ParsedOption } from './qemu-options.ts';
import { qemuArgs, type QemuSpec } from './qemu.ts';

const spec = (more: Partial<QemuSpec> = {}): QemuSpec => ({
  dir: '/run/vmplane/vm1',
  memoryMiB: 256,
  cpus: 1,
  ...more,
});

/** The command line QEMU would read, or the error the builder refused the spec with. */
function build(s: QemuSpec): { options?: ParsedOption[]; error?: string } {
  try {
    return { options: parseQemuArgs(qemuArgs(s)) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Every value on the command line that is a path (a socket's `unix:` prefix taken off). */
const paths = (options: ParsedOption[] | undefined): string[] =>
  (options ?? [])
    .flatMap((o) => (o.value !== undefined ? [o.value] : Object.values(o.props ?? {})))
    .map((v) => v.replace(/^unix:/, ''))
    .filter((v) => v.startsWith('/'))
    .sort();

const devices = (options: ParsedOption[] | undefined, driver: string): ParsedOption['props'][] =>
  (options ?? [])
    .filter((o) => o.name === '-device' && o.props?.driver === driver)
    .map((o) => o.props);

describe('the network card', () => {
  it('puts nothing but a MAC address into mac=', () => {
    const built = build(spec({ nic: { mac: '52:54:00:00:00:01,romfile=/some/file' } }));
    expect(devices(built.options, 'virtio-net-pci'), 'the card QEMU would see').toEqual([]);
    expect(built.error).toMatch(
      /nic\.mac.*"52:54:00:00:00:01,romfile=\/some\/file".*xx:xx:xx:xx:xx:xx/,
    );
  });

  it('takes unicast MAC addresses only', () => {
    expect(
      devices(build(spec({ nic: { mac: '52:54:00:AB:cd:01' } })).options, 'virtio-net-pci'),
    ).toMatchObject([{ mac: '52:54:00:AB:cd:01' }]);
    for (const mac of [
      '01:00:5e:00:00:01',
      '00:00:00:00:00:00',
      '52:54:00:00:00',
      '52-54-00-00-00-01',
    ])
      expect(build(spec({ nic: { mac } })).error).toMatch(/^nic\.mac: .* unicast MAC address/);
  });
});

describe('paths', () => {
  it('stay whole when they hold commas: a folder or a disk cannot add options', () => {
    const dir = '/run/a,b=c';
    const disk = '/d/x.qcow2,file.locking=off';
    const built = build(spec({ dir, screen: true, disks: [{ path: disk, format: 'qcow2' }] }));
    expect(paths(built.options), 'the paths QEMU would see').toEqual(
      [disk, `${dir}/ga.sock`, `${dir}/qmp.sock`, `${dir}/serial.sock`, `${dir}/vnc.sock`].sort(),
    );
    expect(built.error).toBeUndefined();
  });
});

describe('the sandbox', () => {
  it('runs QEMU under its seccomp sandbox: no obsolete calls, no privileges, no processes, no resource control', () => {
    const sandbox = (build(spec()).options ?? []).filter((o) => o.name === '-sandbox');
    expect(sandbox, 'the -sandbox options').toEqual([
      {
        name: '-sandbox',
        props: {
          enable: 'on',
          obsolete: 'deny',
          elevateprivileges: 'deny',
          spawn: 'deny',
          resourcecontrol: 'deny',
        },
      },
    ]);
  });
});

describe('socket paths', () => {
  it('refuse a folder whose sockets do not fit in a Unix socket address (sun_path, 108 bytes)', () => {
    const dir = `/var/lib/vmplane/vms/${'n'.repeat(76)}`; // 97 bytes; its serial.sock has 109
    const built = build(spec({ dir }));
    expect(built.options, 'the command line it built').toBeUndefined();
    expect(built.error).toMatch(/^dir: .*serial\.sock" is 109 bytes.*108/);
  });
});

describe('disks', () => {
  it('are -blockdev nodes (a file node and a format node each) behind virtio-blk devices with stable ids', () => {
    const built = build(
      spec({
        disks: [
          { path: '/d/root.qcow2', format: 'qcow2' },
          { path: '/d/seed.img', format: 'raw', readOnly: true },
        ],
      }),
    );
    const disks = (built.options ?? []).filter(
      (o) =>
        o.name === '-drive' ||
        o.name === '-blockdev' ||
        (o.name === '-device' && o.props?.driver === 'virtio-blk-pci'),
    );
    const cache = { 'cache.direct': 'off', 'cache.no-flush': 'off' };
    expect(disks, 'the disks QEMU would see').toEqual([
      {
        name: '-blockdev',
        props: {
          driver: 'file',
          'node-name': 'file-disk0',
          filename: '/d/root.qcow2',
          aio: 'threads',
          ...cache,
          'read-only': 'off',
        },
      },
      {
        name: '-blockdev',
        props: {
          driver: 'qcow2',
          'node-name': 'fmt-disk0',
          file: 'file-disk0',
          ...cache,
          'read-only': 'off',
          discard: 'unmap',
        },
      },
      { name: '-device', props: { driver: 'virtio-blk-pci', drive: 'fmt-disk0', id: 'ua-disk0' } },
      {
        name: '-blockdev',
        props: {
          driver: 'file',
          'node-name': 'file-disk1',
          filename: '/d/seed.img',
          aio: 'threads',
          ...cache,
          'read-only': 'on',
        },
      },
      {
        name: '-blockdev',
        props: {
          driver: 'raw',
          'node-name': 'fmt-disk1',
          file: 'file-disk1',
          ...cache,
          'read-only': 'on',
        },
      },
      { name: '-device', props: { driver: 'virtio-blk-pci', drive: 'fmt-disk1', id: 'ua-disk1' } },
    ]);
  });
});

describe('values', () => {
  it('are refused, naming the field, the value and what is accepted, when they are not what QEMU should get', () => {
    const cases: [Partial<QemuSpec>, RegExp][] = [
      [{ memoryMiB: -1 }, /^memoryMiB: -1 .*whole number of MiB from 1 to \d+/],
      [{ memoryMiB: 1.5 }, /^memoryMiB: 1\.5 /],
      [{ memoryMiB: NaN }, /^memoryMiB: NaN /],
      [{ memoryMiB: 2 ** 40 }, /^memoryMiB: 1099511627776 /],
      [{ cpus: 0 }, /^cpus: 0 .*whole number of vCPUs from 1 to \d+/],
      [{ cpus: 100_000 }, /^cpus: 100000 /],
      [{ kernel: 'vmlinuz' }, /^kernel: "vmlinuz" .*absolute path/],
      [
        { kernel: '/k', initrd: '/boot/initrd\n-S' },
        /^initrd: "\/boot\/initrd\\n-S" .*without control characters/,
      ],
      [{ kernel: '/k', append: 'console=ttyS0\u0000' }, /^append: .*without control characters/],
      [{ accel: 'xen' as 'tcg' }, /^accel: "xen" .*tcg or kvm/],
      [
        { nic: { mac: '52:54:00:00:00:01', dumpFile: 'net0.pcap' } },
        /^nic\.dumpFile: "net0\.pcap" .*absolute path/,
      ],
      [{ dir: 'vms/a' }, /^dir: "vms\/a" .*absolute path/],
      [{ initrd: '/boot/initrd' }, /^initrd: "\/boot\/initrd" .*nothing without a kernel/],
      [{ kernel: '/k', append: 'x'.repeat(2048) }, /^append: .*at most 2047 bytes/],
      [{ cpus: 3, limits: { maxCpus: 2 } }, /^cpus: 3 .*from 1 to 2$/],
      [{ memoryMiB: 513, limits: { maxMemoryMiB: 512 } }, /^memoryMiB: 513 .*from 1 to 512$/],
    ];
    const results = cases.map(([more]) => build(spec(more)).error ?? 'accepted');
    expect(results).toEqual(cases.map(([, re]) => expect.stringMatching(re)));
  });
});
