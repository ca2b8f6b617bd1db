// What the guest agent's answers become in KubeVirt's API (pure): the OS info, users,
// filesystems, interfaces and agent version as virt-launcher's poller stores them, and what
// virt-handler and virt-api make of them: the instance's guestOSInfo, its interfaces with
// `infoSource`, the AgentConnected and AgentVersionNotSupported conditions, and the bodies of the
// guestosinfo, userlist and filesystemlist subresources.
// Follows KubeVirt v1.7.0: pkg/virt-launcher/virtwrap/agent-poller/agent_poller.go and
// agent_parser.go (the conversions), pkg/virt-launcher/virtwrap/manager.go (GetGuestInfo, GetUsers,
// GetFilesystems: at most 10 users and filesystems in guestosinfo), pkg/virt-handler/vm.go
// (updateGuestAgentConditions), pkg/virt-handler/guestagent.go (the commands a supported agent
// has) and pkg/network/setup/netstat.go (ifacesStatusFromGuestAgent).

/** staging/src/kubevirt.io/api/core/v1/types.go VirtualMachineInstanceGuestOSInfo. */
export interface GuestOSInfo {
  name?: string;
  kernelRelease?: string;
  version?: string;
  prettyName?: string;
  versionId?: string;
  kernelVersion?: string;
  machine?: string;
  id?: string;
}

export interface GuestUser {
  userName: string;
  domain?: string;
  loginTime?: number;
}

export interface GuestFilesystem {
  diskName: string;
  mountPoint: string;
  fileSystemType: string;
  usedBytes: number;
  totalBytes: number;
  disk?: { serial?: string; busType: string }[];
}

/** An interface the agent sees in the guest (loopback left out, as KubeVirt does). */
export interface AgentInterface {
  interfaceName: string;
  mac: string;
  ip?: string;
  ips: string[];
}

export interface AgentVersion {
  version: string;
  supportedCommands: { name: string; enabled?: boolean }[];
}

/** What the poller last heard from the agent, by what it asked (nothing once it is gone). */
export interface AgentFacts {
  agent?: AgentVersion;
  os?: GuestOSInfo;
  hostname?: string;
  timezone?: { zone: string; offset: number };
  users?: GuestUser[];
  filesystems?: GuestFilesystem[];
  interfaces?: AgentInterface[];
}

type Raw = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const list = (v: unknown): Raw[] =>
  Array.isArray(v) ? v.filter((x): x is Raw => typeof x === 'object' && x !== null) : [];
/** An object without its undefined fields (KubeVirt's omitempty). */
const compact = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;

/** guest-get-osinfo (libvirt's DOMAIN_GUEST_INFO_OS, convertToOSInfo). */
export function osInfoOf(r: unknown): GuestOSInfo {
  const o = (r ?? {}) as Raw;
  return compact({
    name: str(o['name']),
    kernelRelease: str(o['kernel-release']),
    version: str(o['version']),
    prettyName: str(o['pretty-name']),
    versionId: str(o['version-id']),
    kernelVersion: str(o['kernel-version']),
    machine: str(o['machine']),
    id: str(o['id']),
  });
}

/** guest-network-get-interfaces: the first IPv4 address is the interface's, else the first. */
export function interfacesOf(r: unknown): AgentInterface[] {
  return list(r)
    .filter((i) => str(i['name']) !== 'lo')
    .map((i) => {
      const addrs = list(i['ip-addresses']);
      const ips = addrs.map((a) => str(a['ip-address'])).filter((a): a is string => !!a);
      const v4 = addrs.find((a) => a['ip-address-type'] === 'ipv4');
      const ip = str(v4?.['ip-address']) ?? ips[0];
      return {
        interfaceName: str(i['name']) ?? '',
        mac: str(i['hardware-address']) ?? '',
        ...(ip ? { ip } : {}),
        ips,
      };
    });
}

/**
 * guest-get-users: the agent gives login-time in seconds; libvirt keeps milliseconds and KubeVirt
 * turns them back into seconds, so a login time has millisecond precision.
 */
export function usersOf(r: unknown): GuestUser[] {
  return list(r).map((u) =>
    compact({
      userName: str(u['user']) ?? '',
      domain: str(u['domain']),
      loginTime: Math.floor(num(u['login-time']) * 1000) / 1000 || undefined,
    }),
  );
}

/** guest-get-fsinfo (parseFilesystem). */
export function filesystemsOf(r: unknown): GuestFilesystem[] {
  return list(r).map((f) => {
    const disk = list(f['disk']).map((d) => ({
      ...(str(d['serial']) ? { serial: str(d['serial']) } : {}),
      busType: str(d['bus-type']) ?? '',
    }));
    return {
      diskName: str(f['name']) ?? '',
      mountPoint: str(f['mountpoint']) ?? '',
      fileSystemType: str(f['type']) ?? '',
      usedBytes: num(f['used-bytes']),
      totalBytes: num(f['total-bytes']),
      // omitempty: a filesystem on no disk has no list
      ...(disk.length ? { disk } : {}),
    };
  });
}

/** guest-info (parseAgent): the version and the commands, each enabled or not. */
export function agentVersionOf(r: unknown): AgentVersion {
  const o = (r ?? {}) as Raw;
  return {
    version: str(o['version']) ?? '',
    supportedCommands: list(o['supported_commands']).map((c) =>
      compact({ name: str(c['name']) ?? '', enabled: c['enabled'] === true || undefined }),
    ),
  };
}

/** The commands virt-handler requires of an agent (pkg/virt-handler/guestagent.go). */
export const REQUIRED_AGENT_COMMANDS = [
  'guest-ping',
  'guest-get-time',
  'guest-info',
  'guest-shutdown',
  'guest-network-get-interfaces',
  'guest-get-fsinfo',
  'guest-get-host-name',
  'guest-get-users',
  'guest-get-timezone',
  'guest-get-osinfo',
];

/** Why the agent is not supported (AgentVersionNotSupported's reason), or undefined. */
export function unsupportedReason(agent: AgentVersion | undefined): string | undefined {
  // No guest-info answer yet: virt-handler has no list to judge either.
  if (!agent?.supportedCommands.length) return undefined;
  const enabled = new Set(agent.supportedCommands.filter((c) => c.enabled).map((c) => c.name));
  return REQUIRED_AGENT_COMMANDS.every((c) => enabled.has(c))
    ? undefined
    : "This guest agent doesn't support required basic commands";
}

/** An interface of the instance's status (VirtualMachineInstanceNetworkInterface). */
export interface StatusInterface {
  name?: string;
  mac?: string;
  ipAddress?: string;
  ipAddresses?: string[];
  interfaceName?: string;
  infoSource: string;
}

const isV4 = (ip: string): boolean => !ip.includes(':');

/**
 * The domain's interfaces with what the agent says merged in (ifacesStatusFromGuestAgent): a
 * domain interface whose MAC the agent reports gets the guest's interface name and is
 * `domain, guest-agent`; its addresses are the agent's, except that a family the status already
 * has is kept unless the agent reports none of it. Agent interfaces no domain interface has are
 * added as `guest-agent`.
 */
export function mergeInterfaces(
  domain: readonly StatusInterface[],
  agent: readonly AgentInterface[] | undefined,
): StatusInterface[] {
  const out = domain.map((i) => ({ ...i }));
  for (const a of agent ?? []) {
    const match = out.find((i) => i.mac && i.mac.toLowerCase() === a.mac.toLowerCase());
    if (!match) {
      out.push(
        compact({
          mac: a.mac,
          ipAddress: a.ip,
          ipAddresses: a.ips.length ? a.ips : undefined,
          interfaceName: a.interfaceName,
          infoSource: 'guest-agent',
        }),
      );
      continue;
    }
    const had = match.ipAddresses ?? [];
    const v4 = had.filter(isV4).length && a.ips.filter(isV4).length ? had : a.ips;
    const v6 = had.filter((x) => !isV4(x)).length && a.ips.some((x) => !isV4(x)) ? had : a.ips;
    const ips = [...v4.filter(isV4), ...v6.filter((x) => !isV4(x))];
    delete match.ipAddress;
    delete match.ipAddresses;
    Object.assign(match, {
      interfaceName: a.interfaceName,
      ...(ips.length ? { ipAddress: ips[0], ipAddresses: ips } : {}),
      infoSource: 'domain, guest-agent',
    });
  }
  return out;
}

/** The guestosinfo subresource's body (VirtualMachineInstanceGuestAgentInfo, GetGuestInfo). */
export function guestAgentInfo(f: AgentFacts): object {
  const users = (f.users ?? []).slice(0, 10);
  const fs = (f.filesystems ?? []).slice(0, 10);
  return compact({
    guestAgentVersion: f.agent?.version,
    supportedCommands: f.agent?.supportedCommands.length ? f.agent.supportedCommands : undefined,
    hostname: f.hostname,
    os: f.os ?? {},
    timezone: `${f.timezone?.zone ?? ''}, ${f.timezone?.offset ?? 0}`,
    userList: users.length ? users : undefined,
    fsInfo: { disks: fs.length ? fs : null },
  });
}

/** The userlist subresource's body (VirtualMachineInstanceGuestOSUserList). */
export const userList = (f: AgentFacts): object => ({ metadata: {}, items: f.users ?? [] });

/** The filesystemlist subresource's body (VirtualMachineInstanceFileSystemList). */
export const filesystemList = (f: AgentFacts): object => ({
  metadata: {},
  items: f.filesystems ?? [],
});
