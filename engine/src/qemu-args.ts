// The QEMU command line of a guest (pure): no defaults, console, control and screen on Unix
// sockets in the VM's folder, the disks as -blockdev nodes behind virtio-blk devices, a virtio
// network card on QEMU's isolated user-mode network, all under QEMU's seccomp sandbox. Every value
// is checked before it goes on the line (a QemuSpecError names the field, the value and what is
// accepted) and every key=value option is written by optionString, so a value stays one value.
// Every guest also gets KubeVirt's guest agent channel: a virtio-serial controller and the port
// org.qemu.guest_agent.0 on a Unix socket in the VM's folder (KubeVirt v1.7
// pkg/virt-launcher/virtwrap/converter/converter.go, Add_Agent_To_api_Channel), and the
// cloud-init seed, when there is one, as the disk its volume's disks[] entry says.
import { join } from 'node:path';
import { diskArgs, diskNames, type QemuDisk } from './qemu-disks.ts';
import { checkSocketFolder, qmpSocket, serialSocket, vncSocket } from './qemu-folder.ts';
import { optionString } from './qemu-options.ts';
import {
  checkAppend,
  checkCount,
  checkMac,
  checkOneOf,
  checkPath,
  QEMU_LIMITS,
  QemuSpecError,
  type QemuLimits,
} from './qemu-spec.ts';

export interface QemuSpec {
  /**
   * The VM's own folder (absolute; its sockets' paths within 107 bytes: instanceFolder gives such
   * folders). startQemu makes it if it is missing and makes it 0700 (makePrivateFolder): QEMU
   * starts only in a folder no one else can enter.
   */
  dir: string;
  /** Guest memory in MiB: a whole number from 1 to limits.maxMemoryMiB. */
  memoryMiB: number;
  /** vCPUs: a whole number from 1 to limits.maxCpus. */
  cpus: number;
  /** A kernel to boot directly (absolute path; QEMU takes it as it is, commas included). */
  kernel?: string;
  /** Its initramfs (absolute path); only with a kernel. */
  initrd?: string;
  /** Its command line (at most 2047 bytes, no control characters); only with a kernel. */
  append?: string;
  /** In order: the first is /dev/vda. Each a -blockdev file node, a format node and a
   * virtio-blk-pci device named after the volume (see QemuDisk, diskNames). */
  disks?: QemuDisk[];
  /** tcg (software, the default) or kvm (only after a probe boot succeeded). */
  accel?: 'tcg' | 'kvm';
  /**
   * A virtio network card with this MAC (unicast, xx:xx:xx:xx:xx:xx) on an isolated user-mode
   * network. With dumpFile (an absolute path), its traffic is recorded there (pcap, filter-dump
   * NET_DUMP_ID) until the engine removes the recorder (stopNetDump) once it saw the guest's DHCP
   * exchange. bootable keeps the card's option ROM (KubeVirt drops it without a bootOrder).
   */
  nic?: { mac: string; dumpFile?: string; bootable?: boolean };
  /**
   * Instead of `nic`: one virtio card per tap (the engine's node network made the taps in the
   * pod's namespace, QEMU runs there): `-netdev tap,ifname=...,script=no,downscript=no`.
   */
  taps?: { ifname: string; mac: string; bootable?: boolean }[];
  /** Start with the guest's CPUs stopped (KubeVirt's startStrategy Paused). */
  paused?: boolean;
  /** A VGA screen, served by QEMU's VNC server on vnc.sock. */
  screen?: boolean;
  /**
   * QEMU's seccomp sandbox, on unless this is false (only for a QEMU built without seccomp, which
   * refuses -sandbox): no obsolete system calls, no privileges gained, no processes spawned, no
   * scheduling or CPU-affinity changes.
   */
  sandbox?: boolean;
  /** The most memory and vCPUs a guest may have; QEMU_LIMITS (this machine's) where not given. */
  limits?: Partial<QemuLimits>;
  /** The cloud-init seed (a NoCloud `cidata` ISO), attached after the disks. */
  seed?: SeedDisk;
  /** A live migration's target: it waits for the source's state (`-incoming defer`, then QMP). */
  incoming?: boolean;
}

/**
 * A cloud-init seed image (raw): a CD-ROM (read-only, as KubeVirt's cdrom default) or a disk, on
 * the bus the volume's disks[] entry names: virtio (virtio-blk-pci) or sata (the q35 machine's
 * AHCI controller, ide-cd or ide-hd).
 */
export interface SeedDisk {
  path: string;
  /** The volume's name (the device is ua-<name>, as the other disks'). */
  name: string;
  cdrom: boolean;
  bus: 'virtio' | 'sata';
}

/** The guest agent's socket in the VM's folder (shorter than serial.sock, so it fits too). */
export const agentSocket = (dir: string): string => join(dir, 'ga.sock');
/** The virtio-serial port of the guest agent, as KubeVirt names the channel's target. */
export const AGENT_CHANNEL = 'org.qemu.guest_agent.0';
/** The port's device id: QMP's VSERPORT_CHANGE events name it. */
export const AGENT_PORT_ID = 'channel0';

/** The sandbox QEMU runs in: what it denies, in -sandbox's words. */
export const QEMU_SANDBOX = {
  obsolete: 'deny',
  elevateprivileges: 'deny',
  spawn: 'deny',
  resourcecontrol: 'deny',
} as const;

/** The guest's address on the user-mode network: QEMU's DHCP hands out the first one, always. */
export const GUEST_NETWORK = { cidr: '10.0.2.0/24', guestIp: '10.0.2.15' };

/** The id of the network card's recorder (-object filter-dump), which object-del removes. */
export const NET_DUMP_ID = 'net0dump';

/** Console (serial0) and control (QMP, qmp0) sockets, and the screen's when there is one. */
function socketArgs(dir: string, screen: boolean | undefined): string[] {
  const socket = (id: string, path: string): string =>
    optionString('socket', { id, path, server: true, wait: false });
  return [
    '-chardev',
    socket('serial0', serialSocket(dir)),
    '-serial',
    'chardev:serial0',
    '-chardev',
    socket('qmp0', qmpSocket(dir)),
    '-mon',
    optionString(undefined, { chardev: 'qmp0', mode: 'control' }),
    ...(screen
      ? ['-vga', 'std', '-vnc', optionString(undefined, { vnc: `unix:${vncSocket(dir)}` })]
      : []),
  ];
}

/** The virtio-serial controller and the guest agent's port on ga.sock (QEMU listens). */
function agentArgs(dir: string): string[] {
  return [
    '-chardev',
    optionString('socket', { id: 'agent0', path: agentSocket(dir), server: true, wait: false }),
    '-device',
    optionString('virtio-serial-pci', { id: 'virtio-serial0' }),
    '-device',
    optionString('virtserialport', {
      bus: 'virtio-serial0.0',
      chardev: 'agent0',
      name: AGENT_CHANNEL,
      id: AGENT_PORT_ID,
    }),
  ];
}

/** The seed's -blockdev nodes and its device; its name must be no other disk's. */
function seedArgs(seed: SeedDisk | undefined, disks: readonly QemuDisk[]): string[] {
  if (!seed) return [];
  let n: ReturnType<typeof diskNames>;
  try {
    n = diskNames(seed, disks.length);
  } catch (e) {
    if (e instanceof QemuSpecError) throw new QemuSpecError('seed.name', seed.name, e.accepted);
    throw e;
  }
  if (disks.some((d, i) => diskNames(d, i).name === n.name))
    throw new QemuSpecError('seed.name', seed.name, 'a volume name no other disk has');
  const bus = checkOneOf('seed.bus', seed.bus, ['virtio', 'sata']);
  if (seed.cdrom && bus === 'virtio')
    throw new QemuSpecError('seed.bus', seed.bus, 'sata for a cdrom (KubeVirt refuses virtio)');
  const cache = { 'cache.direct': false, 'cache.no-flush': false };
  const ro = seed.cdrom;
  const driver = bus === 'virtio' ? 'virtio-blk-pci' : seed.cdrom ? 'ide-cd' : 'ide-hd';
  return [
    '-blockdev',
    optionString(undefined, {
      driver: 'file',
      'node-name': n.fileNode,
      filename: checkPath('seed.path', seed.path),
      aio: 'threads',
      ...cache,
      'read-only': ro,
    }),
    '-blockdev',
    optionString(undefined, {
      driver: 'raw',
      'node-name': n.formatNode,
      file: n.fileNode,
      ...cache,
      'read-only': ro,
    }),
    '-device',
    optionString(driver, {
      drive: n.formatNode,
      id: n.deviceId,
      // The q35 machine's AHCI ports are ide.0 to ide.5: the seed takes the first.
      ...(bus === 'sata' ? { bus: 'ide.0' } : {}),
    }),
  ];
}

function nicArgs(nic: QemuSpec['nic']): string[] {
  if (!nic) return [];
  const dumpFile = nic.dumpFile === undefined ? undefined : checkPath('nic.dumpFile', nic.dumpFile);
  return [
    '-netdev',
    optionString('user', { id: 'net0', restrict: true, net: GUEST_NETWORK.cidr }),
    '-device',
    optionString('virtio-net-pci', {
      netdev: 'net0',
      mac: checkMac('nic.mac', nic.mac),
      // No option ROM unless the card boots (KubeVirt disables it without a bootOrder).
      romfile: nic.bootable ? undefined : '',
    }),
    ...(dumpFile
      ? [
          '-object',
          optionString('filter-dump', { id: NET_DUMP_ID, netdev: 'net0', file: dumpFile }),
        ]
      : []),
  ];
}

/** A tap's interface name: what Linux accepts (at most 15 bytes, no '/', no space). */
const TAP_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

function tapArgs(taps: QemuSpec['taps']): string[] {
  return (taps ?? []).flatMap((t, i) => {
    if (!TAP_NAME.test(t.ifname))
      throw new QemuSpecError(
        `taps[${i}].ifname`,
        t.ifname,
        'an interface name of at most 15 letters, digits, _ . -',
      );
    return [
      '-netdev',
      optionString('tap', { id: `net${i}`, ifname: t.ifname, script: 'no', downscript: 'no' }),
      '-device',
      optionString('virtio-net-pci', {
        netdev: `net${i}`,
        mac: checkMac(`taps[${i}].mac`, t.mac),
        romfile: t.bootable ? undefined : '',
      }),
    ];
  });
}

/** -kernel, -initrd and -append take their argument whole: checked, never escaped. */
function kernelArgs(s: QemuSpec): string[] {
  if (s.kernel === undefined) {
    for (const field of ['initrd', 'append'] as const)
      if (s[field] !== undefined)
        throw new QemuSpecError(field, s[field], 'nothing without a kernel to boot');
    return [];
  }
  return [
    '-kernel',
    checkPath('kernel', s.kernel),
    ...(s.initrd !== undefined ? ['-initrd', checkPath('initrd', s.initrd)] : []),
    ...(s.append !== undefined ? ['-append', checkAppend('append', s.append)] : []),
  ];
}

/** The command line for a VM (without the binary). Throws a QemuSpecError for a value it refuses. */
export function qemuArgs(s: QemuSpec): string[] {
  const limits = { ...QEMU_LIMITS, ...s.limits };
  checkSocketFolder('dir', s.dir);
  return [
    '-nodefaults',
    '-no-user-config',
    ...(s.sandbox === false ? [] : ['-sandbox', optionString('on', QEMU_SANDBOX)]),
    '-machine',
    optionString('q35', { accel: checkOneOf('accel', s.accel ?? 'tcg', ['tcg', 'kvm']) }),
    '-m',
    `${checkCount('memoryMiB', s.memoryMiB, limits.maxMemoryMiB, 'MiB')}M`,
    '-smp',
    String(checkCount('cpus', s.cpus, limits.maxCpus, 'vCPUs')),
    '-display',
    'none',
    ...socketArgs(s.dir, s.screen),
    ...agentArgs(s.dir),
    ...(s.taps ? tapArgs(s.taps) : nicArgs(s.nic)),
    ...(s.paused ? ['-S'] : []),
    ...(s.incoming ? ['-incoming', 'defer'] : []),
    ...kernelArgs(s),
    ...diskArgs(s.disks ?? []),
    ...seedArgs(s.seed, s.disks ?? []),
  ];
}
