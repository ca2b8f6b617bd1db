// The cloud-init network configuration (version 2) vmplane writes for a VM whose guest needs more
// than its first interface on DHCP: static-pool addresses, or several interfaces. Each interface
// is matched by its MAC address (which admission fixes) and renamed to its vmplane name, since
// renderers such as Debian's ifupdown configure the name, not the match. Pod-network, external
// DHCP and plain NetworkAttachmentDefinition interfaces use DHCP; static-pool ones get their
// address, the pool's nameservers, and, on the VM's first interface only, a default route via the
// pool's gateway (`routes` with 0.0.0.0/0: `gateway4` is deprecated in netplan, and `to: default`
// is not understood by cloud-init before 22.3).
import { stringify } from 'yaml';
import { INLINE_CLOUD_INIT_MAX_BYTES } from '../../../api/src/v1alpha1/virtualmachine.ts';
import type { NetworkLike } from '../network/types.ts';

/** One interface as the translation sees it (spec.network.interfaces[]). */
export interface GuestInterface {
  name: string;
  network?: string;
  macAddress?: string;
  /** The static-pool address admission allocated (spec.network.interfaces[].ipAddress). */
  ipAddress?: string;
}

interface Ethernet {
  match: { macaddress: string };
  'set-name': string;
  dhcp4: boolean;
  addresses?: string[];
  routes?: { to: string; via: string }[];
  nameservers?: { addresses?: string[]; search?: string[] };
}

const LINUX_IFNAME = /^[a-z0-9][-a-z0-9]{0,14}$/;

/** The guest's name for interface `index`: its vmplane name when Linux takes it (15 characters at most), else eth<index>. */
export function guestName(name: string, index: number): string {
  return LINUX_IFNAME.test(name) ? name : `eth${index}`;
}

/** The static pool an interface takes its address from, when its network has one. */
function staticPoolOf(
  i: GuestInterface,
  networks: Record<string, NetworkLike | undefined>,
): NonNullable<NonNullable<NetworkLike['spec']['ipam']>['staticPool']> | undefined {
  const n = i.network ? networks[i.network] : undefined;
  return n && n.spec.type !== 'Pod' ? n.spec.ipam?.staticPool : undefined;
}

function ethernet(
  i: GuestInterface,
  index: number,
  networks: Record<string, NetworkLike | undefined>,
): Ethernet {
  const base = {
    match: { macaddress: (i.macAddress ?? '').toLowerCase() },
    'set-name': guestName(i.name, index),
  };
  const pool = staticPoolOf(i, networks);
  if (!pool) return { ...base, dhcp4: true };
  if (!i.ipAddress) return { ...base, dhcp4: false };
  const prefix = pool.cidr.split('/')[1] ?? '32';
  const nameservers = {
    ...(pool.nameservers?.length ? { addresses: [...pool.nameservers] } : {}),
    ...(pool.search?.length ? { search: [...pool.search] } : {}),
  };
  return {
    ...base,
    dhcp4: false,
    addresses: [`${i.ipAddress}/${prefix}`],
    ...(index === 0 && pool.gateway ? { routes: [{ to: '0.0.0.0/0', via: pool.gateway }] } : {}),
    ...(Object.keys(nameservers).length ? { nameservers } : {}),
  };
}

/**
 * The same configuration in fewer bytes, for when even JSON passes KubeVirt's inline limit:
 * short ids (`set-name` still names each interface), no `dhcp4: false` (netplan's default), and
 * each pool's DNS settings only on the first interface that carries them (cloud-init's renderers
 * and systemd-resolved use them for every lookup).
 */
function compact(ethernets: Record<string, Ethernet>): Record<string, Partial<Ethernet>> {
  const seen = new Set<string>();
  const out: Record<string, Partial<Ethernet>> = {};
  Object.values(ethernets).forEach((e, index) => {
    const { dhcp4, nameservers, ...rest } = e;
    const dns = nameservers ? JSON.stringify(nameservers) : '';
    const keepDns = !!nameservers && !seen.has(dns);
    seen.add(dns);
    out[`e${index}`] = {
      ...rest,
      ...(dhcp4 ? { dhcp4 } : {}),
      ...(keepDns ? { nameservers } : {}),
    };
  });
  return out;
}

/**
 * The network data to give the guest, or undefined when cloud-init's default (DHCP on the first
 * interface) is enough, or when an interface has no MAC address to match it by. KubeVirt takes
 * inline network data up to 2,048 bytes: readable YAML when it fits, else JSON (which is YAML),
 * else the compact form above (16 static interfaces with their DNS settings fit).
 */
export function networkData(
  interfaces: readonly GuestInterface[],
  networks: Record<string, NetworkLike | undefined>,
): string | undefined {
  const anyStatic = interfaces.some((i) => !!i.ipAddress && !!staticPoolOf(i, networks));
  if (!anyStatic && interfaces.length <= 1) return undefined;
  if (interfaces.some((i) => !i.macAddress)) return undefined;
  const ethernets: Record<string, Ethernet> = {};
  interfaces.forEach((i, index) => {
    ethernets[guestName(i.name, index)] = ethernet(i, index, networks);
  });
  const fits = (text: string): boolean => Buffer.byteLength(text) <= INLINE_CLOUD_INIT_MAX_BYTES;
  const yaml = stringify({ version: 2, ethernets });
  if (fits(yaml)) return yaml;
  const json = JSON.stringify({ version: 2, ethernets });
  return fits(json) ? json : JSON.stringify({ version: 2, ethernets: compact(ethernets) });
}
