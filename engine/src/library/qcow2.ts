// A library image as the web server of cloud images would publish it: qcow2, converted once from
// the engine's raw image into the cache beside it and reused afterwards.
import { execFile } from 'node:child_process';
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `<raw without .img>.qcow2`, made when missing or older than the raw image. */
export async function ensureQcow2(raw: string, qemuImg = 'qemu-img'): Promise<string> {
  const out = `${raw.replace(/\.img$/, '')}.qcow2`;
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(raw).mtimeMs) return out;
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    await run(qemuImg, ['convert', '-q', '-f', 'raw', '-O', 'qcow2', '-c', raw, tmp]);
    renameSync(tmp, out);
  } finally {
    rmSync(tmp, { force: true });
  }
  return out;
}
