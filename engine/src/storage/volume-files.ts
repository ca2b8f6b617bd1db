// The files behind the engine's volumes (I/O): a sparse raw file of the claim's size (inside its
// folder for a Filesystem volume, the volume's path itself for a Block one), grown in place, and
// removed with the volume; and what they may grow to in all, for the engine's disk budget.
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
} from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { volumeFile, type Volume } from './volume-file.ts';

/** The folder all volumes live in. */
export const volumesRoot = (stateDir: string): string => join(stateDir, 'volumes');

/** Whether the path is inside the engine's volumes folder (nothing else is ever removed). */
export function insideVolumes(stateDir: string, path: string): boolean {
  const rel = relative(volumesRoot(stateDir), path);
  return !!rel && !rel.startsWith('..') && !rel.includes(`..${sep}`) && !rel.startsWith(sep);
}

/**
 * Makes the volume's file, sparse, of `bytes` (0600; its folder 0700). A file already there (an
 * earlier pass that stopped before the PV was written) is kept and grown if smaller.
 */
export function makeVolumeFile(stateDir: string, pv: Volume, bytes: number): string {
  const file = volumeFile(pv);
  if (!file || !insideVolumes(stateDir, file))
    throw new Error(`volume ${pv.metadata?.name}: its path is not under ${volumesRoot(stateDir)}`);
  mkdirSync(volumesRoot(stateDir), { recursive: true, mode: 0o700 });
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (existsSync(file)) {
    growVolumeFile(file, bytes);
    return file;
  }
  const fd = openSync(file, 'wx', 0o600);
  try {
    ftruncateSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
  return file;
}

/** Grows a raw file to `bytes` (sparse; never shrinks it). */
export function growVolumeFile(file: string, bytes: number): void {
  if (statSync(file).size < bytes) truncateSync(file, bytes);
}

/** Removes a volume's folder or file (only under the engine's volumes folder). */
export function removeVolume(stateDir: string, pv: Volume): void {
  const path = pv.spec?.local?.path;
  if (!path || !insideVolumes(stateDir, path)) return;
  rmSync(path, { recursive: true, force: true });
}

/** What the volumes' files may grow to in all (their sizes), leaving out `except`. */
export function volumesBytes(stateDir: string, except?: string): number {
  const root = volumesRoot(stateDir);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  let sum = 0;
  for (const n of names) {
    const path = join(root, n);
    const st = statSync(path, { throwIfNoEntry: false });
    const file = st?.isDirectory() ? join(path, 'disk.img') : path;
    if (file === except) continue;
    sum += statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  }
  return sum;
}
