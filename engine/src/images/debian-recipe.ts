// What goes into the library's Debian 12 cloud image, as pure data: the packages mmdebstrap
// installs, the script that configures the root file system before it is packed, the disk's
// layout (MBR; partition 1 FAT16 with syslinux, the kernel and the initrd; partition 2 ext4 labelled
// `root`) and the commands that make it. debian.ts runs them.

/** Bumped whenever what goes into the image changes, so a cached older image is rebuilt. */
export const DEBIAN_REVISION = 'r1';
export const DEBIAN_IMAGE_NAME = 'debian-12';
const MiB = 1024 * 1024;
/** The disk's virtual size: what a claim made from it needs at least. */
export const DEBIAN_DISK_BYTES = 3 * 1024 * MiB;

/**
 * Debian's packages on top of the minbase variant: a kernel and an initramfs, systemd with udev
 * and dbus, cloud-init (NoCloud; it renders its network config for systemd-networkd, which is
 * part of systemd), the QEMU guest agent, sshd, sudo, and growpart with resize2fs so a root file
 * system on a bigger claim grows to fill it.
 */
export const DEBIAN_PACKAGES = [
  'systemd-sysv',
  'udev',
  'dbus',
  'linux-image-cloud-amd64',
  'initramfs-tools',
  'cloud-init',
  'qemu-guest-agent',
  'openssh-server',
  'sudo',
  'e2fsprogs',
  'iproute2',
  'netbase',
  'procps',
  'cloud-guest-utils',
  'fdisk',
];

/**
 * The kernel command line: the root by label, the console on the screen and on the serial port
 * (the last one named is /dev/console, where cloud-init writes), classic NIC names (eth0, which
 * cloud-init's fallback configuration names too) and no idle console blanking.
 */
export const DEBIAN_CMDLINE =
  'root=LABEL=root ro console=tty0 console=ttyS0,115200 net.ifnames=0 biosdevname=0 consoleblank=0';

/** syslinux's configuration: no menu, no wait, straight into Debian's kernel. */
export function syslinuxCfg(append = DEBIAN_CMDLINE): string {
  return [
    'SERIAL 0 115200',
    'DEFAULT debian',
    'PROMPT 0',
    'TIMEOUT 0',
    'LABEL debian',
    '  LINUX /vmlinuz',
    '  INITRD /initrd.img',
    `  APPEND ${append}`,
    '',
  ].join('\n');
}

export interface DiskLayout {
  /** Bytes from the start of the disk, and lengths in bytes. */
  bootOffset: number;
  bootBytes: number;
  rootOffset: number;
  rootBytes: number;
  diskBytes: number;
}

/** Partition 1 (boot) from 1 MiB, 128 MiB long; partition 2 (root) the rest, MiB-aligned. */
export function diskLayout(diskBytes = DEBIAN_DISK_BYTES): DiskLayout {
  const bootOffset = MiB;
  const bootBytes = 128 * MiB;
  const rootOffset = bootOffset + bootBytes;
  if (diskBytes % MiB !== 0 || diskBytes < rootOffset + 512 * MiB)
    throw new Error(
      `disk size ${diskBytes}: a whole number of MiB of at least ${(rootOffset + 512 * MiB) / MiB} MiB is needed`,
    );
  return { bootOffset, bootBytes, rootOffset, rootBytes: diskBytes - rootOffset, diskBytes };
}

/** sfdisk's script for the layout: DOS label, FAT16 (LBA) active, then Linux. */
export function sfdiskScript(l: DiskLayout): string {
  const s = (bytes: number): number => bytes / 512;
  return [
    'label: dos',
    `start=${s(l.bootOffset)}, size=${s(l.bootBytes)}, type=e, bootable`,
    `start=${s(l.rootOffset)}, size=${s(l.rootBytes)}, type=83`,
    '',
  ].join('\n');
}

/** cloud-init's settings for a guest that sees no package mirror. */
export const CLOUD_CFG = [
  '# vmplane: the seed is a NoCloud ISO (cidata); without one, cloud-init runs with no data.',
  'datasource_list: [NoCloud, None]',
  'manage_etc_hosts: true',
  '# The guest reaches no package mirror: nothing waits for apt unless the user data asks.',
  'package_update: false',
  'package_upgrade: false',
  'package_reboot_if_required: false',
  'apt:',
  '  preserve_sources_list: true',
  '# Host keys are made at first boot; RSA is left out, its key takes long under emulation.',
  'ssh_deletekeys: true',
  'ssh_genkeytypes: [ed25519, ecdsa]',
  '',
].join('\n');

/** The cloud-init modules that would reach for a mirror or a network service; none runs. */
export const CLOUD_MODULES_OFF = [
  'apt-configure',
  'apt-pipelining',
  'package-update-upgrade-install',
];

/** A file written in the root file system by the customize script. */
function put(path: string, text: string): string {
  const tag = 'VMPLANE_EOF';
  return `mkdir -p "$R${path.replace(/\/[^/]+$/, '')}"\ncat > "$R${path}" <<'${tag}'\n${text}${tag}`;
}

/**
 * The script mmdebstrap's customize hook runs (`sh script "$1"`, $1 the root file system) before
 * the tarball is made: configuration files, units enabled, and what must be unique per guest
 * removed (host keys, machine id), apt's lists and caches dropped.
 */
export function customizeScript(): string {
  const dropModules = CLOUD_MODULES_OFF.map(
    (m) => `sed -i -E '/^ *- *${m}$/d' "$R/etc/cloud/cloud.cfg"`,
  );
  return [
    'set -eu',
    'R="$1"',
    put('/etc/fstab', 'LABEL=root / ext4 defaults,errors=remount-ro 0 1\n'),
    put('/etc/hostname', 'debian\n'),
    put('/etc/hosts', '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n'),
    put('/etc/cloud/cloud.cfg.d/90-vmplane.cfg', CLOUD_CFG),
    ...dropModules,
    // Don't wait for every link: a guest with one DHCP card is online when that card is.
    put(
      '/etc/systemd/system/systemd-networkd-wait-online.service.d/vmplane.conf',
      '[Service]\nExecStart=\nExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=30\n',
    ),
    'chroot "$R" systemctl enable systemd-networkd.service serial-getty@ttyS0.service',
    // apt's timers would only fail: the guest reaches no mirror.
    'chroot "$R" systemctl disable apt-daily.timer apt-daily-upgrade.timer 2>/dev/null || true',
    'rm -f "$R"/etc/ssh/ssh_host_*',
    ': > "$R/etc/machine-id"',
    'rm -f "$R/var/lib/dbus/machine-id"',
    'rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/apt/archives/*.deb',
    '',
  ].join('\n');
}

/**
 * The Debian stanzas of the machine's apt sources (deb822 `.sources` files and one-line `.list`
 * files), as one deb822 text for mmdebstrap: the image comes from the mirror this machine
 * already uses, and from no other place.
 */
export function debianSources(files: { path: string; text: string }[], suite = 'bookworm') {
  const stanzas: string[] = [];
  const ours = (suites: string[]): string[] =>
    suites.filter((s) => s === suite || s.startsWith(`${suite}-`));
  for (const { path, text } of files) {
    if (path.endsWith('.sources'))
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (name: string): string =>
          new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(stanza)?.[1]?.trim() ?? '';
        if (/^enabled:\s*no/im.test(stanza) || !field('Types').split(/\s+/).includes('deb'))
          continue;
        const suites = ours(field('Suites').split(/\s+/));
        if (!suites.length) continue;
        const signed = field('Signed-By');
        stanzas.push(
          [
            'Types: deb',
            `URIs: ${field('URIs')}`,
            `Suites: ${suites.join(' ')}`,
            `Components: ${field('Components') || 'main'}`,
            ...(signed ? [`Signed-By: ${signed}`] : []),
          ].join('\n'),
        );
      }
    else
      for (const line of text.split('\n')) {
        const m = /^\s*deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)$/.exec(line);
        if (!m || !ours([m[3]!]).length) continue;
        stanzas.push(`Types: deb\nURIs: ${m[2]}\nSuites: ${m[3]}\nComponents: ${m[4]!.trim()}`);
      }
  }
  if (!stanzas.length)
    throw new Error(
      `no Debian ${suite} source in this machine's apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d): the Debian image is built from Debian ${suite}'s packages`,
    );
  return `${stanzas.join('\n\n')}\n`;
}

/** mmdebstrap's mode: root when run as root, else unshare (user namespaces, newuidmap). */
export function buildMode(uid: number): 'root' | 'unshare' {
  return uid === 0 ? 'root' : 'unshare';
}

/** mmdebstrap's command line: the tarball, and /boot copied out beside it for the boot partition. */
export function mmdebstrapArgs(o: {
  mode: 'root' | 'unshare';
  script: string;
  work: string;
  tarball: string;
  sources: string;
}): string[] {
  return [
    `--mode=${o.mode}`,
    '--variant=minbase',
    `--include=${DEBIAN_PACKAGES.join(',')}`,
    '--aptopt=Acquire::Retries "3"',
    `--customize-hook=sh ${o.script} "$1"`,
    `--customize-hook=copy-out /boot ${o.work}`,
    'bookworm',
    o.tarball,
    o.sources,
  ];
}
