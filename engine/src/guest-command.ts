// What QEMU runs for an instance: the instance's memory, vCPUs, disks and first card, and how the
// guest boots. Pure; startQemu turns the spec into the command line (and checks every value).
// A guest boots the way its boot disk says: a disk made from a library image that carries a
// kernel (the tiny Linux) boots that kernel directly, as KubeVirt's kernel boot does; any other
// guest gets firmware only and boots whatever its disks hold (a blank disk boots nothing, as on
// KubeVirt).
import { parseQuantity } from '../../api/src/quantity.ts';
import type { KvVmi } from './engine-context.ts';
import type { QemuSpec, SeedDisk } from './qemu.ts';
import type { DiskFile } from './volumes.ts';

export interface GuestCommandInput {
  /** The instance's own folder (sockets). */
  dir: string;
  vmi: KvVmi;
  memoryBytes: number;
  cpus: number;
  disks: (DiskFile & { path: string })[];
  /** The first card's MAC (the instance's, or one made for it). */
  mac: string;
  /** Where the first card's traffic is recorded until the guest's address is seen. */
  dumpFile?: string;
  /** The cards' taps in the pod's namespace (the engine's node network), instead of user-mode. */
  taps?: QemuSpec['taps'];
  /** The engine's caps (vCPUs per VM, guest memory) the command line is checked against. */
  limits?: QemuSpec['limits'];
  /** The cloud-init NoCloud seed, attached as its volume's disk (cloud-init-volume.ts). */
  seed?: SeedDisk;
}

/** The disk the guest boots from: the lowest bootOrder, else the first disk. */
export function bootDisk<T extends { volume: string }>(
  vmi: KvVmi,
  disks: readonly T[],
): T | undefined {
  const order = new Map(
    (vmi.spec.domain?.devices?.disks ?? []).map((d) => [d.name, d.bootOrder ?? Infinity]),
  );
  return [...disks].sort(
    (a, b) => (order.get(a.volume) ?? Infinity) - (order.get(b.volume) ?? Infinity),
  )[0];
}

/** What the instance asks for, read as KubeVirt reads it, or why it cannot be read. */
export type Resources =
  | { ok: true; memoryBytes: number; cpus: number; mac: string | undefined }
  | { ok: false; message: string };

/**
 * The instance's guest memory (domain.memory.guest, else the memory request), its vCPUs (cores ×
 * sockets × threads, 0 or unset meaning 1, as KubeVirt reads an unset uint32) and its first card's
 * MAC (an empty one is none). Pure.
 */
export function instanceResources(vmi: KvVmi): Resources {
  const domain = vmi.spec.domain;
  const field = domain?.memory?.guest
    ? 'spec.domain.memory.guest'
    : 'spec.domain.resources.requests.memory';
  const asked = domain?.memory?.guest ?? domain?.resources?.requests?.memory;
  if (!asked) return { ok: false, message: 'the instance asks for no memory' };
  let memoryBytes: number;
  try {
    memoryBytes = Number(parseQuantity(asked).asInteger());
  } catch {
    return { ok: false, message: `${field}: "${asked}" is not a quantity the engine can read` };
  }
  const cpu = domain?.cpu;
  const cpus = (cpu?.cores || 1) * (cpu?.sockets || 1) * (cpu?.threads || 1);
  return {
    ok: true,
    memoryBytes,
    cpus,
    mac: domain?.devices?.interfaces?.[0]?.macAddress || undefined,
  };
}

/** Whether the guest sees a volume's disk read-only: the claim says so, or its domain disk does. */
export function readOnlyDisk(vmi: KvVmi, d: DiskFile): boolean {
  const disk = vmi.spec.domain?.devices?.disks?.find((x) => x.name === d.volume) as
    | {
        disk?: { readonly?: boolean };
        cdrom?: { readonly?: boolean };
        lun?: { readonly?: boolean };
      }
    | undefined;
  // A cdrom is read-only unless it says otherwise (KubeVirt's default).
  return (
    !!d.readOnly ||
    !!disk?.disk?.readonly ||
    !!disk?.lun?.readonly ||
    (!!disk?.cdrom && disk.cdrom.readonly !== false)
  );
}

export function guestCommand(i: GuestCommandInput): QemuSpec {
  const kernel = bootDisk(i.vmi, i.disks)?.image?.kernelBoot;
  const card = i.vmi.spec.domain?.devices?.interfaces?.[0];
  return {
    dir: i.dir,
    memoryMiB: Math.max(16, Math.floor(i.memoryBytes / 2 ** 20)),
    cpus: i.cpus,
    ...(kernel ? { kernel: kernel.kernel, initrd: kernel.initrd, append: kernel.append } : {}),
    disks: i.disks.map((d) => ({
      path: d.path,
      format: 'qcow2' as const,
      name: d.volume,
      ...(readOnlyDisk(i.vmi, d) ? { readOnly: true } : {}),
    })),
    ...(i.taps ? { taps: i.taps } : {}),
    ...(card && !i.taps
      ? {
          nic: {
            mac: i.mac,
            ...(i.dumpFile ? { dumpFile: i.dumpFile } : {}),
            ...(card.bootOrder ? { bootable: true } : {}),
          },
        }
      : {}),
    screen: true,
    ...(i.seed ? { seed: i.seed } : {}),
    ...(i.limits ? { limits: i.limits } : {}),
    ...(i.vmi.spec.startStrategy === 'Paused' ? { paused: true } : {}),
  };
}
