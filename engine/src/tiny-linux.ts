// The tiny Linux the local engine boots without a network: Debian's cloud kernel and an
// initramfs of busybox-static, both from Debian's packages, built on first use into the cache
// (like the control plane's binaries) and reused afterwards. It boots to a root shell on the
// serial console in seconds under software emulation.
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { newc, type CpioEntry } from './cpio.ts';

const run = promisify(execFile);

/** What a newcomer sees on the console once the guest is up; the shell prompt follows it. */
export const TINY_BANNER = 'vmplane tiny linux: booted';
export const TINY_PROMPT = 'tiny# ';

/** The guest's /init: mount what a shell needs, say so on the console, hand it a root shell. */
export function tinyInit(): string {
  return [
    '#!/bin/busybox sh',
    '/bin/busybox --install -s /bin',
    'mount -t proc proc /proc',
    'mount -t sysfs sysfs /sys',
    'mount -t devtmpfs devtmpfs /dev 2>/dev/null',
    'hostname tiny',
    `echo "${TINY_BANNER} (kernel $(uname -r))"`,
    `export PS1='${TINY_PROMPT}'`,
    // A shell that owns the console (job control, Ctrl-C), again whenever it exits.
    'while true; do setsid cttyhack sh; done',
    '',
  ].join('\n');
}

/** The initramfs: busybox, /init and the folders they use. */
export function tinyInitramfs(busybox: Buffer): Buffer {
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'tmp', 'root', 'etc'].map(
      (path) => ({ type: 'dir', path }) as const,
    ),
    { type: 'char', path: 'dev/console', major: 5, minor: 1 },
    { type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
    { type: 'symlink', path: 'bin/sh', target: 'busybox' },
    { type: 'file', path: 'init', data: tinyInit(), mode: 0o755 },
  ];
  return newc(entries);
}

export interface TinyLinux {
  kernel: string;
  initrd: string;
  /** The kernel release, for example 6.1.0-57-cloud-amd64. */
  release: string;
}

/** Debian's packages into a folder, without installing them (apt-get download, dpkg-deb -x). */
async function unpackDebian(packages: string[], into: string): Promise<void> {
  const debs = mkdtempSync(join(tmpdir(), 'vmplane-debs-'));
  try {
    await run('apt-get', ['download', ...packages], { cwd: debs }).catch((e: Error) => {
      throw new Error(
        `apt-get download ${packages.join(' ')} failed (the image is built from Debian's packages; run apt-get update if the package lists are empty): ${e.message}`,
      );
    });
    for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb')))
      await run('dpkg-deb', ['-x', join(debs, deb), into]);
  } finally {
    rmSync(debs, { recursive: true, force: true });
  }
}

/** The kernel package the cloud meta-package points at now (linux-image-6.1.0-N-cloud-amd64). */
async function cloudKernelPackage(): Promise<string> {
  const { stdout } = await run('apt-cache', ['depends', 'linux-image-cloud-amd64']);
  const pkg = /Depends: (linux-image-\S+-cloud-amd64)/.exec(stdout)?.[1];
  if (!pkg)
    throw new Error(
      "no Debian cloud kernel package found (apt-cache depends linux-image-cloud-amd64): the tiny Linux image is built from Debian's packages",
    );
  return pkg;
}

/** The tiny Linux image, built once (about 30 MB downloaded) into the cache. */
export async function ensureTinyLinux(
  cacheDir: string,
  log: (l: string) => void = (l) => console.log(l),
): Promise<TinyLinux> {
  const kernelPkg = await cloudKernelPackage();
  const release = kernelPkg.replace(/^linux-image-/, '');
  const dir = join(cacheDir, 'images', `tiny-linux-${release}`);
  const image = { kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'), release };
  if (existsSync(image.kernel) && existsSync(image.initrd)) return image;
  log(`building the tiny Linux image (Debian kernel ${release}, busybox) into ${dir}`);
  const work = mkdtempSync(join(tmpdir(), 'vmplane-tiny-'));
  try {
    await unpackDebian([kernelPkg, 'busybox-static'], work);
    const staged = `${dir}.tmp-${process.pid}`;
    mkdirSync(staged, { recursive: true });
    renameSync(join(work, 'boot', `vmlinuz-${release}`), join(staged, 'vmlinuz'));
    writeFileSync(
      join(staged, 'initrd.img'),
      tinyInitramfs(readFileSync(join(work, 'bin', 'busybox'))),
    );
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, '..'), { recursive: true });
    renameSync(staged, dir);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return image;
}
