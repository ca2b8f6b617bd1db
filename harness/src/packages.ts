// Debian packages a command needs (QEMU for the engine tests): used when there, installed with
// apt when the run may (root with apt-get, as CI and a fresh machine of this project's kind are),
// else one line saying what to run, before anything starts.
import { spawnSync } from 'node:child_process';
import {
  DEBIAN_IMAGE_COMMANDS,
  DEBIAN_IMAGE_PACKAGES,
  debianImageMissingTools,
} from '../../engine/src/images/debian-tools.ts';
import { NODE_NETWORK_TOOLS, testStopLine } from '../../engine/src/network/host-check.ts';
import { checkNodeNetworkHost, missingNetworkTools } from '../../engine/src/network/start.ts';

export interface PackageNeed {
  /** What it is for, in the progress line: "QEMU for the engine tests". */
  what: string;
  /** The Debian packages, and the commands they provide (each must be on PATH). */
  debian: string[];
  commands: string[];
  /** The Homebrew formula, for the message on other systems. */
  brew?: string;
  /** Whether everything is there, when on PATH is not the test (tools in /usr/sbin, files). */
  present?: () => boolean;
}

export type PackagePlan =
  | { action: 'use' }
  | { action: 'install'; commands: string[][] }
  | { action: 'stop'; message: string };

export function planPackage(
  need: PackageNeed,
  f: { present: boolean; root: boolean; apt: boolean },
): PackagePlan {
  if (f.present) return { action: 'use' };
  if (f.root && f.apt)
    return {
      action: 'install',
      commands: [
        ['apt-get', 'update', '-qq'],
        ['apt-get', 'install', '-y', '-qq', ...need.debian],
      ],
    };
  const how = f.apt
    ? `sudo apt-get install ${need.debian.join(' ')}`
    : need.brew
      ? `brew install ${need.brew}`
      : `install ${need.debian.join(' ')} from your system's packages`;
  return {
    action: 'stop',
    message: `${need.what} needs ${need.commands.join(' and ')}: run \`${how}\`, then try again`,
  };
}

export function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Runs install commands with progress lines; an error line when one fails. */
export function runInstall(
  commands: readonly string[][],
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): string | undefined {
  for (const [cmd, ...args] of commands) {
    log(`  ${[cmd, ...args].join(' ')}`);
    const r = spawnSync(cmd!, args, {
      stdio: 'inherit',
      env: { ...env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0)
      return `\`${[cmd, ...args].join(' ')}\` failed (exit ${r.status ?? r.signal})`;
  }
  return undefined;
}

/** The package's command, installed when allowed; an error line when it cannot be. */
export function ensurePackage(
  need: PackageNeed,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const present = need.present ?? ((): boolean => need.commands.every(onPath));
  const plan = planPackage(need, {
    present: present(),
    root: process.getuid?.() === 0,
    apt: onPath('apt-get'),
  });
  if (plan.action === 'use') return undefined;
  if (plan.action === 'stop') return plan.message;
  const packages = need.debian.join(' ');
  log(`installing Debian's ${packages} (${need.what}; first run, about a minute)...`);
  const failed = runInstall(plan.commands, env, log);
  if (failed) return `${failed}; install ${packages} by hand, then try again`;
  if (need.present) return need.present() ? undefined : `${packages} installed, but still missing`;
  const missing = need.commands.filter((c) => !onPath(c));
  return missing.length
    ? `${packages} installed, but ${missing.join(', ')} not on PATH`
    : undefined;
}

/** QEMU: the local engine's VMs and the tests that boot them. */
export const QEMU: PackageNeed = {
  what: 'booting real VMs (the engine tests)',
  debian: ['qemu-system-x86', 'qemu-utils'],
  commands: ['qemu-system-x86_64', 'qemu-img'],
  brew: 'qemu',
};

/**
 * The engine's node network (VM-to-VM traffic, services, NetworkPolicy, L2 networks): dnsmasq as
 * each segment's DHCP server, nft for the rules. They live in sbin, so PATH alone is not the test.
 */
export const NODE_NETWORK: PackageNeed = {
  what: "the engine's node network (the engine tests)",
  debian: NODE_NETWORK_TOOLS.map((t) => t.debian),
  commands: NODE_NETWORK_TOOLS.map((t) => t.command),
  present: () => missingNetworkTools().length === 0,
};

/** `npm test`'s one line when the engine tests cannot have the node network; none when they can. */
export async function nodeNetworkStopLine(): Promise<string | undefined> {
  const v = await checkNodeNetworkHost();
  return v.ok ? undefined : testStopLine(v);
}

/**
 * The tools that build the Debian 12 cloud image (engine/src/images/debian.ts) on its first use:
 * mmdebstrap (and uidmap for its unshare mode without root), syslinux, mtools, dosfstools,
 * fdisk, e2fsprogs, qemu-img, and genisoimage for the guests' NoCloud seeds.
 */
export const DEBIAN_IMAGE_TOOLS: PackageNeed = {
  what: 'building the Debian 12 cloud image (the guest tests)',
  debian: DEBIAN_IMAGE_PACKAGES,
  commands: DEBIAN_IMAGE_COMMANDS,
  present: () => debianImageMissingTools() === undefined,
};
