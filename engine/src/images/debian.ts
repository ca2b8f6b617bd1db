// The library's Debian 12 cloud image, built from Debian's packages on first use and cached
// beside the tiny Linux (~/.cache/vmplane/images/debian-12-<revision>/debian-12.qcow2 and its
// .sha256). mmdebstrap makes the root file system as a tarball (as root: --mode=root; otherwise
// --mode=unshare, with user namespaces and newuidmap), and the BIOS-bootable disk is put together
// in a plain file without mounting anything: sfdisk writes the MBR partition table, mkfs.vfat
// and mtools fill partition 1 with the kernel, the initrd and syslinux.cfg, syslinux installs
// itself there and its mbr.bin goes into the first 440 bytes, and mke2fs -d fills partition 2
// (ext4, label `root`) from the unpacked tarball (e2fsprogs 1.47.0 in bookworm cannot read a
// tarball with -d; 1.47.1 can). qemu-img then compresses it into qcow2.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  chmodSync,
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildMode,
  customizeScript,
  DEBIAN_DISK_BYTES,
  DEBIAN_IMAGE_NAME,
  DEBIAN_REVISION,
  debianSources,
  diskLayout,
  mmdebstrapArgs,
  sfdiskScript,
  syslinuxCfg,
  type DiskLayout,
} from './debian-recipe.ts';
import { debianImageMissingTools, findTool } from './debian-tools.ts';

export { debianImageMissingTools } from './debian-tools.ts';

export interface DebianImage {
  /** The folder, the qcow2 file, its sha256 (hex) and the file holding it (sha256sum format). */
  dir: string;
  qcow2: string;
  sha256: string;
  sha256File: string;
  /** The disk's virtual size in bytes. */
  virtualBytes: number;
}

const MBR_BIN = '/usr/lib/syslinux/mbr/mbr.bin';

/** Runs a tool; its stderr lines go to `onLine`; fails with the command and its last words. */
function exec(
  cmd: string,
  args: string[],
  o: { input?: string; onLine?: (l: string) => void } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(findTool(cmd) ?? cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let partial = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-4000);
      const lines = (partial + b.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) o.onLine?.(l);
    });
    child.once('error', reject);
    child.once('exit', (code, sig) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${cmd} ${args.join(' ')} failed (${sig ?? `exit ${code}`}): ${err}`)),
    );
    child.stdin.end(o.input ?? '');
  });
}

/** The machine's apt sources files, read for their Debian stanzas. */
function machineSources(): { path: string; text: string }[] {
  const d = '/etc/apt/sources.list.d';
  const paths = [
    '/etc/apt/sources.list',
    ...(existsSync(d) ? readdirSync(d).map((f) => join(d, f)) : []),
  ].filter((p) => /\.(list|sources)$/.test(p) && existsSync(p));
  return paths.map((path) => ({ path, text: readFileSync(path, 'utf8') }));
}

/** The image's files once built. */
function imageAt(dir: string): DebianImage {
  const qcow2 = join(dir, `${DEBIAN_IMAGE_NAME}.qcow2`);
  const sha256File = `${qcow2}.sha256`;
  const sha256 = existsSync(sha256File) ? readFileSync(sha256File, 'utf8').split(/\s/)[0]! : '';
  return { dir, qcow2, sha256, sha256File, virtualBytes: DEBIAN_DISK_BYTES };
}

/** Staging folders a build that died left in the cache (their process is gone). */
function removeStaleStaging(images: string, base: string): void {
  if (!existsSync(images)) return;
  for (const f of readdirSync(images)) {
    const pid = Number(new RegExp(`^${base}\\.tmp-(\\d+)$`).exec(f)?.[1]);
    if (!pid) continue;
    try {
      process.kill(pid, 0);
    } catch {
      rmSync(join(images, f), { recursive: true, force: true });
    }
  }
}

/** The boot partition: FAT16 (128 MiB is too few clusters for FAT32) with the kernel, the initrd, syslinux.cfg and syslinux itself. */
async function writeBootPartition(disk: string, l: DiskLayout, boot: string): Promise<void> {
  const names = readdirSync(boot);
  const kernel = names.find((n) => n.startsWith('vmlinuz-'));
  const initrd = names.find((n) => n.startsWith('initrd.img-'));
  if (!kernel || !initrd)
    throw new Error(`the image's /boot has no kernel and initrd (found: ${names.join(', ')})`);
  writeFileSync(join(boot, 'syslinux.cfg'), syslinuxCfg());
  await exec('mkfs.vfat', [
    '-F',
    '16',
    '-n',
    'BOOT',
    '--offset',
    String(l.bootOffset / 512),
    disk,
    String(l.bootBytes / 1024),
  ]);
  const at = `${disk}@@${l.bootOffset}`;
  for (const [from, to] of [
    [kernel, 'vmlinuz'],
    [initrd, 'initrd.img'],
    ['syslinux.cfg', 'syslinux.cfg'],
  ])
    await exec('mcopy', ['-i', at, join(boot, from!), `::${to}`]);
  await exec('syslinux', ['--install', '--offset', String(l.bootOffset), disk]);
  // syslinux's MBR code: the first 440 bytes, before the partition table sfdisk wrote.
  const mbr = readFileSync(MBR_BIN).subarray(0, 440);
  const fd = openSync(disk, 'r+');
  try {
    writeSync(fd, mbr, 0, mbr.length, 0);
  } finally {
    closeSync(fd);
  }
}

/**
 * The root partition from the tarball: unpacked (without /dev, which devtmpfs provides) and
 * copied into a new ext4 at the partition's offset. Without root this runs in mmdebstrap's user
 * namespace, where the files' owners are right. Returns the unpacked size in bytes.
 */
async function writeRootPartition(
  disk: string,
  l: DiskLayout,
  tarball: string,
  root: string,
  mode: 'root' | 'unshare',
): Promise<number> {
  const inNamespace = (cmd: string[]): [string, string[]] =>
    mode === 'root' ? [cmd[0]!, cmd.slice(1)] : ['mmdebstrap', ['--unshare-helper', ...cmd]];
  const mke2fs = findTool('mke2fs') ?? 'mke2fs';
  const script = [
    'set -e',
    'tar -C "$1" --numeric-owner -xpf "$2" --exclude="./dev/*"',
    `"${mke2fs}" -q -F -t ext4 -L root -E offset=${l.rootOffset} -d "$1" "$3" ${l.rootBytes / 1024}k`,
    'du -sb "$1" | cut -f1',
  ].join('\n');
  const [cmd, args] = inNamespace(['sh', '-c', script, 'sh', root, tarball, disk]);
  try {
    return Number((await exec(cmd, args)).trim());
  } finally {
    const [rm, rmArgs] = inNamespace(['find', root, '-mindepth', '1', '-delete']);
    await exec(rm, rmArgs).catch(() => undefined);
  }
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** mmdebstrap's phases, as the progress lines a newcomer sees. */
function progressLine(line: string): string | undefined {
  if (/^I: installing essential/.test(line)) return 'installing the essential packages...';
  if (/^I: installing remaining/.test(line))
    return 'installing the kernel, systemd, cloud-init, the guest agent and sshd...';
  if (/^I: running --customize-hook/.test(line)) return 'configuring...';
  return undefined;
}

/** Builds the image into `staged` (a new folder); returns the installed size in bytes. */
async function build(staged: string, work: string, log: (l: string) => void): Promise<number> {
  const mode = buildMode(process.getuid?.() ?? 0);
  const say = (what: string): void => log(`building the Debian 12 image: ${what}`);
  const paths = {
    script: join(work, 'customize.sh'),
    sources: join(work, 'debian.sources'),
    tarball: join(work, 'rootfs.tar'),
    disk: join(work, 'disk.raw'),
    root: join(work, 'root'),
  };
  writeFileSync(paths.script, customizeScript(), { mode: 0o644 });
  writeFileSync(paths.sources, debianSources(machineSources()), { mode: 0o644 });
  await exec('mmdebstrap', mmdebstrapArgs({ mode, work, ...paths }), {
    onLine: (l) => {
      const p = progressLine(l);
      if (p) say(p);
    },
  });
  say('making the disk (MBR, syslinux, ext4 root)...');
  const l = diskLayout();
  const fd = openSync(paths.disk, 'w', 0o666);
  ftruncateSync(fd, l.diskBytes);
  closeSync(fd);
  await exec('sfdisk', ['--quiet', paths.disk], { input: sfdiskScript(l) });
  await writeBootPartition(paths.disk, l, join(work, 'boot'));
  mkdirSync(paths.root);
  if (mode === 'unshare') {
    // The namespace's root is not this user: it may write these two, nothing else of ours.
    chmodSync(paths.root, 0o777);
    chmodSync(paths.disk, 0o666);
  }
  const installed = await writeRootPartition(paths.disk, l, paths.tarball, paths.root, mode);
  rmSync(paths.tarball, { force: true });
  say('compressing into qcow2...');
  const qcow2 = join(staged, `${DEBIAN_IMAGE_NAME}.qcow2`);
  await exec('qemu-img', ['convert', '-c', '-O', 'qcow2', paths.disk, qcow2]);
  writeFileSync(`${qcow2}.sha256`, `${await sha256Of(qcow2)}  ${DEBIAN_IMAGE_NAME}.qcow2\n`);
  return installed;
}

/**
 * The Debian 12 image: from the cache, or built now (several minutes, about 200 MB downloaded
 * from the machine's Debian mirror) and cached; never rebuilt once there.
 */
export async function ensureDebianImage(
  cacheDir: string,
  log: (l: string) => void = (l) => console.log(l),
): Promise<DebianImage> {
  const images = join(cacheDir, 'images');
  const base = `${DEBIAN_IMAGE_NAME}-${DEBIAN_REVISION}`;
  const dir = join(images, base);
  if (existsSync(join(dir, `${DEBIAN_IMAGE_NAME}.qcow2.sha256`))) return imageAt(dir);
  const missing = debianImageMissingTools();
  if (missing)
    throw new Error(
      `building the Debian 12 image needs ${missing.missing.join(', ')}: run \`${missing.command}\``,
    );
  removeStaleStaging(images, base);
  const started = Date.now();
  log(
    `building the Debian 12 image (first use, about 10 minutes) into ${dir}: downloading packages...`,
  );
  const staged = join(images, `${base}.tmp-${process.pid}`);
  const work = mkdtempSync(join(tmpdir(), 'vmplane-debian-build-'));
  chmodSync(work, 0o755);
  try {
    mkdirSync(staged, { recursive: true });
    const installed = await build(staged, work, log);
    if (existsSync(dir)) rmSync(staged, { recursive: true, force: true });
    else renameSync(staged, dir);
    const image = imageAt(dir);
    const mb = (n: number): number => Math.round(n / 1e6);
    log(
      `built the Debian 12 image in ${Math.round((Date.now() - started) / 1000)} s: ${mb(statSync(image.qcow2).size)} MB qcow2, ${mb(installed)} MB installed, ${image.virtualBytes / 2 ** 30} GiB disk`,
    );
    return image;
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(staged, { recursive: true, force: true });
  }
}
