// The tiny Linux the local engine boots without a network: Debian's cloud kernel and an
// initramfs of busybox-static, both from Debian's packages, built on first use into the cache
// (like the control plane's binaries) and reused afterwards. It boots to a root shell on the
// serial console in seconds under software emulation. The kernel's virtio modules come along, so
// the guest sees its disks (/dev/vda...) and its network cards, each of which it configures by
// DHCP (the engine's node network, or QEMU's user-mode network).
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { newc, type CpioEntry } from './cpio.ts';

const run = promisify(execFile);

/** What a newcomer sees on the console once the guest is up; the shell prompt follows it. */
export const TINY_BANNER = 'vmplane tiny linux: booted';
export const TINY_PROMPT = 'tiny# ';
/** Bumped when the image's contents change, so a cached older image is rebuilt. */
const IMAGE_REVISION = 'r5';

/** The kernel modules the guest loads, in an order where each comes after what it depends on. */
export const TINY_MODULES = [
  'kernel/drivers/virtio/virtio_ring.ko',
  'kernel/drivers/virtio/virtio.ko',
  'kernel/drivers/virtio/virtio_pci_legacy_dev.ko',
  'kernel/drivers/virtio/virtio_pci_modern_dev.ko',
  'kernel/drivers/virtio/virtio_pci.ko',
  'kernel/net/core/failover.ko',
  'kernel/drivers/net/net_failover.ko',
  'kernel/drivers/net/virtio_net.ko',
  'kernel/drivers/block/virtio_blk.ko',
];

/** The names a module needs loaded first (its .modinfo "depends=" entry). */
export function moduleDepends(ko: Buffer): string[] {
  const at = ko.indexOf('\0depends=');
  if (at < 0) return [];
  const end = ko.indexOf(0, at + 1);
  return ko
    .subarray(at + '\0depends='.length, end)
    .toString()
    .split(',')
    .filter(Boolean);
}

/** busybox udhcpc's hook: configure the address it was given and say it on the console. */
const DHCP_SCRIPT = [
  '#!/bin/sh',
  '[ "$1" = bound ] || exit 0',
  'ifconfig "$interface" "$ip" netmask "$subnet" up',
  '[ -n "$router" ] && route add default gw "$router" "$interface"',
  'echo "$interface: $ip" >/dev/console',
  '',
].join('\n');

/** The guest's /init: mount what a shell needs, load the virtio drivers, say so on the console,
 * ask for an address in the background and hand the console a root shell. */
export function tinyInit(): string {
  return [
    '#!/bin/busybox sh',
    '/bin/busybox --install -s /bin',
    'mount -t proc proc /proc',
    'mount -t sysfs sysfs /sys',
    'mount -t devtmpfs devtmpfs /dev 2>/dev/null',
    'hostname tiny',
    ...TINY_MODULES.map((m) => `insmod /lib/modules/${m.split('/').pop()} 2>/dev/null`),
    'ip link set lo up',
    // The cards appear once their driver probed them; then an address by DHCP for each
    // (without an answer the boot goes on after 3 s per card).
    // (A virtio network card is PCI device 1af4:1000 or 1af4:1041; without one, no waiting.)
    "grep -qsE '0x10(00|41)' /sys/bus/pci/devices/*/device && for i in 1 2 3 4 5 6 7 8 9 10; do [ -e /sys/class/net/eth0 ] && break; sleep 0.2; done",
    // Every card asks (the pod network's and each L2 network's DHCP server answer).
    'for d in /sys/class/net/eth*; do [ -e "$d" ] || continue; i=${d##*/}; ip link set "$i" up; udhcpc -i "$i" -s /etc/udhcpc.script -q -n -t 3 -T 1 >/dev/null 2>&1; done',
    `echo "${TINY_BANNER} (kernel $(uname -r))"`,
    `export PS1='${TINY_PROMPT}'`,
    // A second shell on the screen (VNC), beside the one on the serial console.
    `(while true; do setsid sh -c 'exec sh </dev/tty1 >/dev/tty1 2>&1'; done) &`,
    // A shell that owns the console (job control, Ctrl-C), again whenever it exits.
    'while true; do setsid cttyhack sh; done',
    '',
  ].join('\n');
}

/** The initramfs: busybox, the modules, /init and the folders they use. */
export function tinyInitramfs(busybox: Buffer, modules: Record<string, Buffer> = {}): Buffer {
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'tmp', 'root', 'etc', 'lib', 'lib/modules'].map(
      (path) => ({ type: 'dir', path }) as const,
    ),
    { type: 'char', path: 'dev/console', major: 5, minor: 1 },
    { type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'file', path: 'etc/udhcpc.script', data: DHCP_SCRIPT, mode: 0o755 },
    ...Object.entries(modules).map(
      ([name, data]) => ({ type: 'file', path: `lib/modules/${name}`, data }) as const,
    ),
    { type: 'file', path: 'init', data: tinyInit(), mode: 0o755 },
  ];
  return newc(entries);
}

/** Reads the modules from an unpacked kernel package, checking the load order covers their needs. */
function readModules(root: string, release: string): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const rel of TINY_MODULES) {
    const name = rel.split('/').pop() ?? rel;
    const ko = readFileSync(join(root, 'lib', 'modules', release, rel));
    const missing = moduleDepends(ko).filter((d) => !(`${d}.ko` in out));
    if (missing.length)
      throw new Error(
        `${name} needs ${missing.join(', ')} loaded first: the tiny Linux cannot load its drivers`,
      );
    out[name] = ko;
  }
  return out;
}

export interface TinyLinux {
  kernel: string;
  initrd: string;
  /**
   * The image as a disk: a raw file holding the initramfs (padded to whole sectors), so a disk
   * made from the library's tiny Linux holds the image's bytes; the guest boots the kernel and
   * initrd directly (kernel boot).
   */
  disk: string;
  /** The kernel release, for example 6.1.0-57-cloud-amd64. */
  release: string;
}

/** Debian's packages into a folder, without installing them (apt-get download, dpkg-deb -x). */
async function unpackDebian(packages: string[], into: string): Promise<void> {
  const debs = mkdtempSync(join(tmpdir(), 'vmplane-debs-'));
  try {
    await run('apt-get', ['download', ...packages], { cwd: debs }).catch((e: Error) => {
      throw new Error(
        `apt-get download ${packages.join(' ')} failed (the image is built from Debian's packages; run apt-get update if the package lists are empty): ${e.message}`,
      );
    });
    for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb')))
      await run('dpkg-deb', ['-x', join(debs, deb), into]);
  } finally {
    rmSync(debs, { recursive: true, force: true });
  }
}

/** The kernel package the cloud meta-package points at now (linux-image-6.1.0-N-cloud-amd64). */
async function cloudKernelPackage(): Promise<string> {
  const { stdout } = await run('apt-cache', ['depends', 'linux-image-cloud-amd64']);
  const pkg = /Depends: (linux-image-\S+-cloud-amd64)/.exec(stdout)?.[1];
  if (!pkg)
    throw new Error(
      "no Debian cloud kernel package found (apt-cache depends linux-image-cloud-amd64): the tiny Linux image is built from Debian's packages",
    );
  return pkg;
}

/** The image as a raw disk: the initramfs's bytes, padded to whole 512-byte sectors. */
function writeDiskImage(initrd: string, disk: string): void {
  const bytes = readFileSync(initrd);
  const padded = Buffer.alloc(Math.ceil(bytes.length / 512) * 512);
  bytes.copy(padded);
  const tmp = `${disk}.tmp-${process.pid}`;
  writeFileSync(tmp, padded, { mode: 0o444 });
  renameSync(tmp, disk);
}

/** The tiny Linux image, built once (about 30 MB downloaded) into the cache. */
export async function ensureTinyLinux(
  cacheDir: string,
  log: (l: string) => void = (l) => console.log(l),
): Promise<TinyLinux> {
  const kernelPkg = await cloudKernelPackage();
  const release = kernelPkg.replace(/^linux-image-/, '');
  // The suffix changes whenever what goes into the image does.
  const dir = join(cacheDir, 'images', `tiny-linux-${release}-${IMAGE_REVISION}`);
  const image = {
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    disk: join(dir, 'disk.img'),
    release,
  };
  if (existsSync(image.kernel) && existsSync(image.initrd)) {
    if (!existsSync(image.disk)) writeDiskImage(image.initrd, image.disk);
    return image;
  }
  log(`building the tiny Linux image (Debian kernel ${release}, busybox) into ${dir}`);
  const work = mkdtempSync(join(tmpdir(), 'vmplane-tiny-'));
  try {
    await unpackDebian([kernelPkg, 'busybox-static'], work);
    const staged = `${dir}.tmp-${process.pid}`;
    mkdirSync(staged, { recursive: true });
    renameSync(join(work, 'boot', `vmlinuz-${release}`), join(staged, 'vmlinuz'));
    writeFileSync(
      join(staged, 'initrd.img'),
      tinyInitramfs(readFileSync(join(work, 'bin', 'busybox')), readModules(work, release)),
    );
    writeDiskImage(join(staged, 'initrd.img'), join(staged, 'disk.img'));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, '..'), { recursive: true });
    renameSync(staged, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return image;
}
