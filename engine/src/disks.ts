// Disks of the local engine: qcow2 files in the VM's folder, blank or backed by an image from the
// library (copy-on-write, so the image is shared and never written). qemu-img does the work.
import { execFile } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import { promisify } from 'node:util';
import { checkOneOf, checkPath, QemuSpecError } from './qemu-spec.ts';

const run = promisify(execFile);

export interface DiskSpec {
  path: string;
  sizeBytes: number;
  /** An image the disk starts from; the disk keeps only what the guest changes. */
  backing?: { path: string; format: 'qcow2' | 'raw' };
}

/** A size qemu-img reads as bytes: a whole number from 1 up (written without an exponent). */
function checkSize(field: string, value: unknown): string {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < 1 ||
    value > Number.MAX_SAFE_INTEGER
  )
    throw new QemuSpecError(
      field,
      value,
      `a whole number of bytes from 1 to ${Number.MAX_SAFE_INTEGER}`,
    );
  return String(value);
}

/**
 * qemu-img's arguments for the disk (pure). Paths are absolute, so none reads as an option or as
 * a protocol (json:, nbd:...), which matters most for the backing file: QEMU opens it by that name
 * each time the disk is opened. Throws a QemuSpecError naming the field it refuses.
 */
export function createDiskArgs(d: DiskSpec): string[] {
  return [
    'create',
    '-q',
    '-f',
    'qcow2',
    ...(d.backing
      ? [
          '-b',
          checkPath('backing.path', d.backing.path),
          '-F',
          checkOneOf('backing.format', d.backing.format, ['qcow2', 'raw']),
        ]
      : []),
    checkPath('path', d.path),
    checkSize('sizeBytes', d.sizeBytes),
  ];
}

/** Makes the disk file (0600: the guest's data is the engine user's alone). */
export async function createDisk(d: DiskSpec, qemuImg = 'qemu-img'): Promise<void> {
  await run(qemuImg, createDiskArgs(d)).catch((e: Error & { stderr?: string }) => {
    throw new Error(`qemu-img could not create ${d.path}: ${e.stderr?.trim() || e.message}`);
  });
  await chmod(d.path, 0o600);
}

/** What qemu-img says of a disk file: its format, virtual size and backing file. */
export async function diskInfo(
  path: string,
  qemuImg = 'qemu-img',
): Promise<{ format: string; virtualSize: number; backing?: string }> {
  const { stdout } = await run(qemuImg, ['info', '--output=json', '-U', checkPath('path', path)]);
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
  const size = checkSize('sizeBytes', sizeBytes);
  const { virtualSize } = await diskInfo(path, qemuImg);
  if (virtualSize >= sizeBytes) return;
  await run(qemuImg, ['resize', '-q', path, size]).catch((e: Error & { stderr?: string }) => {
    throw new Error(`qemu-img could not grow ${path}: ${e.stderr?.trim() || e.message}`);
  });
}
