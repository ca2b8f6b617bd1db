// The build machine's tools for the Debian image, and the one apt-get command that brings the
// missing ones. Several live in /usr/sbin, which a normal user's PATH often lacks, so they are
// looked for there too.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface BuildTool {
  /** A command (looked for on PATH, /usr/sbin and /sbin) or an absolute file. */
  command?: string;
  file?: string;
  /** The Debian package that brings it. */
  debian: string;
  /** Only for a build without root (mmdebstrap's unshare mode). */
  unshareOnly?: boolean;
}

export const DEBIAN_IMAGE_TOOLS: BuildTool[] = [
  { command: 'mmdebstrap', debian: 'mmdebstrap' },
  { command: 'newuidmap', debian: 'uidmap', unshareOnly: true },
  { command: 'syslinux', debian: 'syslinux' },
  { file: '/usr/lib/syslinux/mbr/mbr.bin', debian: 'syslinux-common' },
  { command: 'mcopy', debian: 'mtools' },
  { command: 'mkfs.vfat', debian: 'dosfstools' },
  { command: 'sfdisk', debian: 'fdisk' },
  { command: 'mke2fs', debian: 'e2fsprogs' },
  { command: 'qemu-img', debian: 'qemu-utils' },
  { command: 'genisoimage', debian: 'genisoimage' },
];

/** Every Debian package the build uses (what `npm test` installs as root). */
export const DEBIAN_IMAGE_PACKAGES = DEBIAN_IMAGE_TOOLS.map((t) => t.debian);
/** The commands among them, for messages. */
export const DEBIAN_IMAGE_COMMANDS = DEBIAN_IMAGE_TOOLS.flatMap((t) =>
  t.command ? [t.command] : [],
);

/** Where a command is: PATH, then /usr/sbin and /sbin. */
export function findTool(command: string, path = process.env.PATH ?? ''): string | undefined {
  const dirs = [...path.split(delimiter).filter(Boolean), '/usr/sbin', '/sbin'];
  return dirs.map((d) => join(d, command)).find((p) => existsSync(p));
}

/** The packages whose tools are missing, and the exact command that installs them. */
export function missingToolsPlan(
  missing: string[],
  root: boolean,
): { missing: string[]; command: string } | undefined {
  if (!missing.length) return undefined;
  const unique = [...new Set(missing)];
  return {
    missing: unique,
    command: `${root ? '' : 'sudo '}apt-get install -y ${unique.join(' ')}`,
  };
}

/** What this machine lacks to build the Debian image, or undefined when it has everything. */
export function debianImageMissingTools(
  root = process.getuid?.() === 0,
): { missing: string[]; command: string } | undefined {
  const missing = DEBIAN_IMAGE_TOOLS.filter((t) => !(t.unshareOnly && root))
    .filter((t) => (t.command ? !findTool(t.command) : !existsSync(t.file ?? '')))
    .map((t) => t.debian);
  return missingToolsPlan(missing, root);
}
