// The engine's disks may hold at most a budget of this machine's disk space: each disk file counts
// with its virtual size (what its guest can fill), so no guest can fill the host's disk. A disk
// that would go over the budget is not made, and its DataVolume or instance says why.
import { openSync, readSync, closeSync, readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';

/** The virtual size a qcow2 header gives (bytes 24..31, big-endian), or 0 for anything else. */
export function qcow2VirtualSize(header: Buffer): number {
  if (header.length < 32 || header.readUInt32BE(0) !== 0x514649fb) return 0;
  return Number(header.readBigUInt64BE(24));
}

/** Whether `askedBytes` more fit: undefined when they do, else why not (both figures). */
export function overBudget(
  usedBytes: number,
  askedBytes: number,
  budgetBytes: number,
): string | undefined {
  if (usedBytes + askedBytes <= budgetBytes) return undefined;
  const gib = (n: number): string => `${(n / 2 ** 30).toFixed(1)} GiB`;
  return `the local engine's disks would hold ${gib(usedBytes + askedBytes)}, over its disk budget of ${gib(budgetBytes)} (${gib(usedBytes)} already given to other disks): delete a VM or disk, or ask for less`;
}

/** What the engine's disk files under these folders may grow to, in all. */
export function usedBytes(folders: readonly string[], except?: string): number {
  let sum = 0;
  const header = Buffer.alloc(32);
  for (const dir of folders) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.qcow2'));
    } catch {
      continue; // no disks of that kind yet
    }
    for (const n of names) {
      const path = join(dir, n);
      if (path === except) continue;
      const fd = openSync(path, 'r');
      try {
        readSync(fd, header, 0, 32, 0);
        sum += qcow2VirtualSize(header);
      } finally {
        closeSync(fd);
      }
    }
  }
  return sum;
}

/** Half the free space of the file system that holds `dir`: the default disk budget. */
export function defaultDiskBudget(dir: string): number {
  const s = statfsSync(dir);
  return Math.floor((s.bavail * s.bsize) / 2);
}
