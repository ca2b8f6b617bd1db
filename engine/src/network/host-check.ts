// What this machine lacks for the engine's node network, and the one line that says how to fix it
// (pure): the tools (dnsmasq, nft) and the user namespaces the node network is made of. The
// sysctls that refuse user namespaces differ by system: Debian's kernel.unprivileged_userns_clone,
// Ubuntu's AppArmor restriction (kernel.apparmor_restrict_unprivileged_userns), and the count
// user.max_user_namespaces (0 refuses them all).

/** The tools the node network runs, by command, and the Debian package each comes in. */
export const NODE_NETWORK_TOOLS = [
  { command: 'dnsmasq', debian: 'dnsmasq-base' },
  { command: 'nft', debian: 'nftables' },
] as const;

/** Where sbin tools live when the user's PATH does not have them (non-root Debian users). */
export const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** PATH with the sbin folders after what it had (dnsmasq and nft live there). */
export function withSbin(path: string | undefined): string {
  const dirs = (path ?? '').split(':').filter(Boolean);
  return [...dirs, ...SBIN_DIRS.filter((d) => !dirs.includes(d))].join(':');
}

/** The sysctls that govern user namespaces, as read from /proc/sys (absent: undefined). */
export interface UserNamespaceSysctls {
  'kernel.unprivileged_userns_clone'?: string;
  'kernel.apparmor_restrict_unprivileged_userns'?: string;
  'user.max_user_namespaces'?: string;
}

/** The `sysctl -w` settings that would allow user namespaces; empty when none of them refuses. */
export function userNamespaceSettings(s: UserNamespaceSysctls): string[] {
  const out: string[] = [];
  if (s['kernel.unprivileged_userns_clone']?.trim() === '0')
    out.push('kernel.unprivileged_userns_clone=1');
  if (s['kernel.apparmor_restrict_unprivileged_userns']?.trim() === '1')
    out.push('kernel.apparmor_restrict_unprivileged_userns=0');
  if (s['user.max_user_namespaces']?.trim() === '0') out.push('user.max_user_namespaces=15000');
  return out;
}

/** How to get user namespaces: the sysctl command, or (none refuses them) what else can. */
export function userNamespaceFix(s: UserNamespaceSysctls): string {
  const set = userNamespaceSettings(s);
  if (set.length) return `sudo sysctl -w ${set.join(' ')}`;
  return 'allow unshare(CLONE_NEWUSER) where this runs (a container: run it with --security-opt seccomp=unconfined, or outside it)';
}

/** The packages to install for the tools missing, in NODE_NETWORK_TOOLS order. */
export function missingPackages(missing: readonly string[]): string[] {
  return NODE_NETWORK_TOOLS.filter((t) => missing.includes(t.command)).map((t) => t.debian);
}

/** What the node network needs that is not here: nothing, missing tools, or refused namespaces. */
export type HostVerdict =
  | { ok: true }
  | { ok: false; lost: 'tools'; packages: string[] }
  | { ok: false; lost: 'userns'; reason: string; fix: string };

export function hostVerdict(f: {
  missingTools: readonly string[];
  refused?: string;
  sysctls: UserNamespaceSysctls;
}): HostVerdict {
  if (f.missingTools.length)
    return { ok: false, lost: 'tools', packages: missingPackages(f.missingTools) };
  if (f.refused !== undefined)
    return { ok: false, lost: 'userns', reason: f.refused, fix: userNamespaceFix(f.sysctls) };
  return { ok: true };
}

/** The fix part of a line: the command to run. */
export function fixCommand(v: Exclude<HostVerdict, { ok: true }>): string {
  return v.lost === 'tools' ? `sudo apt-get install ${v.packages.join(' ')}` : v.fix;
}

/** Why, in a few words. */
export function whyLine(v: Exclude<HostVerdict, { ok: true }>): string {
  return v.lost === 'tools'
    ? `${v.packages.join(' and ')} ${v.packages.length > 1 ? 'are' : 'is'} not installed`
    : `user namespaces are refused here (${v.reason})`;
}

/** `npm start`'s line when it falls back to QEMU's user-mode network: what is lost, how to fix. */
export function userModeLine(v: Exclude<HostVerdict, { ok: true }>): string {
  return `node network: ${whyLine(v)}, so VMs get QEMU user-mode networking (each VM alone: no VM-to-VM traffic, no services, no NetworkPolicy, no L2 networks); to get them: ${fixCommand(v)}`;
}

/** `npm test`'s line when it stops: the engine tests need the node network. */
export function testStopLine(v: Exclude<HostVerdict, { ok: true }>): string {
  return `the engine tests need the engine's node network, but ${whyLine(v)}: run \`${fixCommand(v)}\`, then try again`;
}
