// Disks of the local engine: qcow2 files in the VM's folder, blank or backed by an image from the
// library (copy-on-write, so the image is shared and never written). qemu-img does the work.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DiskSpec {
  path: string;
  sizeBytes: number;
  /** An image the disk starts from; the disk keeps only what the guest changes. */
  backing?: { path: string; format: 'qcow2' | 'raw' };
}

/** qemu-img's arguments for the disk (pure). */
export function createDiskArgs(d: DiskSpec): string[] {
  return [
    'create',
    '-q',
    '-f',
    'qcow2',
    ...(d.backing ? ['-b', d.backing.path, '-F', d.backing.format] : []),
    d.path,
    String(d.sizeBytes),
  ];
}

export async function createDisk(d: DiskSpec, qemuImg = 'qemu-img'): Promise<void> {
  await run(qemuImg, createDiskArgs(d)).catch((e: Error & { stderr?: string }) => {
    throw new Error(`qemu-img could not create ${d.path}: ${e.stderr?.trim() || e.message}`);
  });
}

/** What qemu-img says of a disk file: its format, virtual size and backing file. */
export async function diskInfo(
  path: string,
  qemuImg = 'qemu-img',
): Promise<{ format: string; virtualSize: number; backing?: string }> {
  const { stdout } = await run(qemuImg, ['info', '--output=json', '-U', path]);
  const info = JSON.parse(stdout) as {
    format: string;
    'virtual-size': number;
    'backing-filename'?: string;
  };
  return {
    format: info.format,
    virtualSize: info['virtual-size'],
    ...(info['backing-filename'] ? { backing: info['backing-filename'] } : {}),
  };
}

/** Grows a disk to `sizeBytes` when it is smaller (a claim that was resized); never shrinks it. */
export async function growDisk(
  path: string,
  sizeBytes: number,
  qemuImg = 'qemu-img',
): Promise<void> {
  const { virtualSize } = await diskInfo(path, qemuImg);
  if (virtualSize >= sizeBytes) return;
  await run(qemuImg, ['resize', '-q', path, String(sizeBytes)]).catch(
    (e: Error & { stderr?: string }) => {
      throw new Error(`qemu-img could not grow ${path}: ${e.stderr?.trim() || e.message}`);
    },
  );
}
