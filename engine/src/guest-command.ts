// What QEMU runs for an instance: the instance's memory, vCPUs, disks and first card, and how the
// guest boots. Pure; startQemu turns the spec into the command line (and checks every value).
// A guest boots the way its boot disk says: a disk made from a library image that carries a
// kernel (the tiny Linux) boots that kernel directly, as KubeVirt's kernel boot does; any other
// guest gets firmware only and boots whatever its disks hold (a blank disk boots nothing, as on
// KubeVirt).
import type { KvVmi } from './engine-context.ts';
import type { QemuSpec } from './qemu.ts';
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
      ...(d.readOnly ? { readOnly: true } : {}),
    })),
    ...(card
      ? {
          nic: {
            mac: i.mac,
            ...(i.dumpFile ? { dumpFile: i.dumpFile } : {}),
            ...(card.bootOrder ? { bootable: true } : {}),
          },
        }
      : {}),
    screen: true,
    ...(i.vmi.spec.startStrategy === 'Paused' ? { paused: true } : {}),
  };
}
