// A guest's disks on QEMU's command line: per volume, a -blockdev file node (the file on the
// host), a -blockdev format node on it (qcow2 or raw) and a virtio-blk-pci device on the format
// node. Node names and the device id come from the volume's name, so they stay the same from one
// start to the next and hot-plug, snapshots and migration can name them (blockdev-add/-del,
// device_del, blockdev-snapshot...).
import { createHash } from 'node:crypto';
import { optionString } from './qemu-options.ts';
import { checkPath, QemuSpecError } from './qemu-spec.ts';

export interface QemuDisk {
  path: string;
  format: 'qcow2' | 'raw';
  /** The guest sees the disk read-only, and QEMU opens the file read-only. */
  readOnly?: boolean;
  /**
   * The volume's name (letters, digits, '.', '_', '-'; at most 63, starting with a letter or a
   * digit): the device is `ua-<name>`, its nodes file-<name> and fmt-<name> (a long name is cut
   * and given a hash, within QEMU's 31 characters). `disk<index>` when there is none.
   */
  name?: string;
}

/** What QEMU calls a disk's parts. */
export interface DiskNames {
  /** The volume's name. */
  name: string;
  /** The -blockdev node of the file. */
  fileNode: string;
  /** The -blockdev node of the format, which the device is attached to. */
  formatNode: string;
  /** The virtio-blk-pci device's id (what device_del names). */
  deviceId: string;
}

/** QEMU refuses node names of 32 characters or more. */
export const NODE_NAME_MAX = 31;
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** The longest name kept whole in a node name: `file-` + this is 31 characters. */
const NODE_BASE_MAX = NODE_NAME_MAX - 'file-'.length;

/** The names of the disk at `index` (its volume's name, or disk<index>). */
export function diskNames(disk: Pick<QemuDisk, 'name'>, index: number): DiskNames {
  const name = disk.name ?? `disk${index}`;
  if (!VOLUME_NAME.test(name))
    throw new QemuSpecError(
      `disks[${index}].name`,
      name,
      "a volume name: 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or a digit",
    );
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 6);
  const base = name.length <= NODE_BASE_MAX ? name : `${name.slice(0, NODE_BASE_MAX - 7)}-${hash}`;
  return { name, fileNode: `file-${base}`, formatNode: `fmt-${base}`, deviceId: `ua-${name}` };
}

/**
 * The -blockdev and -device options of the disks. The host's page cache is used (cache.direct off:
 * files on tmpfs cannot be opened O_DIRECT) and the guest's flushes reach the disk (cache.no-flush
 * off); I/O goes through QEMU's thread pool (aio=threads, which works without O_DIRECT). A
 * writable disk passes the guest's discards on to the file.
 */
export function diskArgs(disks: readonly QemuDisk[]): string[] {
  const names = disks.map((d, i) => diskNames(d, i));
  const seen = new Set<string>();
  for (const [i, n] of names.entries())
    for (const id of [n.fileNode, n.deviceId]) {
      if (seen.has(id))
        throw new QemuSpecError(`disks[${i}].name`, n.name, 'a volume name no other disk has');
      seen.add(id);
    }
  return disks.flatMap((d, i) => {
    const n = names[i] as DiskNames;
    if (d.format !== 'qcow2' && d.format !== 'raw')
      throw new QemuSpecError(`disks[${i}].format`, d.format, 'qcow2 or raw');
    const readOnly = d.readOnly === true;
    const cache = { 'cache.direct': false, 'cache.no-flush': false };
    return [
      '-blockdev',
      optionString(undefined, {
        driver: 'file',
        'node-name': n.fileNode,
        filename: checkPath(`disks[${i}].path`, d.path),
        aio: 'threads',
        ...cache,
        'read-only': readOnly,
      }),
      '-blockdev',
      optionString(undefined, {
        driver: d.format,
        'node-name': n.formatNode,
        file: n.fileNode,
        ...cache,
        'read-only': readOnly,
        discard: readOnly ? undefined : 'unmap',
      }),
      '-device',
      optionString('virtio-blk-pci', { drive: n.formatNode, id: n.deviceId }),
    ];
  });
}
