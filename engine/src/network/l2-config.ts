// What an L2 network is in the sandbox (pure): the bridge a NetworkAttachmentDefinition's CNI
// bridge config names (a VLAN is its own bridge `<bridge>.<vid>`: the sandbox's kernel has no
// 802.1Q devices nor VLAN filtering), and the addresses a VMI's cloud-init network data (v2) pins
// to its MACs, which the segment's DHCP server (dnsmasq) then gives out.
import { parse } from 'yaml';
import { cidrText, inCidr, intToIp, lastHost, netmaskOf, parseCidr } from './addresses.ts';

export interface Nad {
  metadata?: { name?: string; namespace?: string };
  spec?: { config?: string };
}

/** The bridge of a NAD's CNI config, or an Error naming the field and what is accepted. */
export function nadBridge(nad: Nad): string | Error {
  const where = `NetworkAttachmentDefinition ${nad.metadata?.namespace}/${nad.metadata?.name}`;
  let cfg: { type?: unknown; bridge?: unknown; vlan?: unknown; plugins?: unknown[] };
  try {
    cfg = JSON.parse(nad.spec?.config ?? '') as typeof cfg;
  } catch {
    return new Error(`${where}: spec.config is not JSON (a CNI config is accepted)`);
  }
  const plugin = (Array.isArray(cfg.plugins) ? cfg.plugins[0] : cfg) as typeof cfg | undefined;
  if (plugin?.type !== 'bridge')
    return new Error(
      `${where}: spec.config type "${String(plugin?.type)}": the local engine plays only the CNI "bridge" plugin`,
    );
  const bridge = typeof plugin.bridge === 'string' && plugin.bridge ? plugin.bridge : 'cni0';
  const vlan = plugin.vlan;
  if (
    vlan !== undefined &&
    (!Number.isInteger(vlan) || (vlan as number) < 1 || (vlan as number) > 4094)
  )
    return new Error(`${where}: spec.config vlan ${String(vlan)}: 1 to 4094 is accepted`);
  const name = vlan === undefined ? bridge : `${bridge}.${vlan as number}`;
  if (name.length > 15 || !/^[A-Za-z0-9_.-]+$/.test(name))
    return new Error(
      `${where}: bridge "${name}": a Linux interface name of at most 15 letters, digits, '_', '.', '-' is accepted`,
    );
  return name;
}

/** The NAD a `multus.networkName` names: `name` in the VMI's namespace, or `namespace/name`. */
export function nadRef(
  networkName: string,
  vmiNamespace: string,
): { namespace: string; name: string } {
  const [a, b] = networkName.split('/');
  return b === undefined
    ? { namespace: vmiNamespace, name: a ?? '' }
    : { namespace: a ?? '', name: b };
}

export interface Pin {
  mac: string;
  /** With its prefix: 192.168.77.10/24. */
  address: string;
  gateway?: string;
}

interface Ethernet {
  match?: { macaddress?: string };
  addresses?: unknown[];
  gateway4?: string;
  routes?: { to?: string; via?: string }[];
}

/** The addresses cloud-init network data v2 pins to MACs (ethernets.*.match.macaddress). */
export function pinsFromNetworkData(text: string | undefined): Pin[] {
  if (!text) return [];
  let doc: { network?: unknown; ethernets?: unknown } | undefined;
  try {
    doc = parse(text) as typeof doc;
  } catch {
    return [];
  }
  const root = (doc?.network ?? doc) as { ethernets?: Record<string, Ethernet> } | undefined;
  const pins: Pin[] = [];
  for (const e of Object.values(root?.ethernets ?? {})) {
    const mac = e?.match?.macaddress?.toLowerCase();
    const address = e?.addresses?.find((a) => typeof a === 'string' && !a.includes(':'));
    if (!mac || typeof address !== 'string' || !address.includes('/')) continue;
    const gateway =
      e.gateway4 ?? e.routes?.find((r) => r.to === 'default' || r.to === '0.0.0.0/0')?.via;
    pins.push({ mac, address, ...(gateway ? { gateway } : {}) });
  }
  return pins;
}

/** How the segment's DHCP server serves: its own address on the bridge and dnsmasq's range. */
export interface Segment {
  cidr: string;
  /** The node's address on the bridge (the network data's gateway, else the subnet's last host). */
  serverIP: string;
  gateway?: string;
  /** Pinned: only the pinned MACs get addresses (static); else a dynamic range. */
  pinned: boolean;
}

/**
 * The segment for a bridge: from the addresses pinned on it (their subnet; the gateway they name),
 * or, with none, the subnet the engine picked (`picked`, a /24) served as a dynamic range.
 */
export function segmentFor(pins: readonly Pin[], picked: string): Segment {
  const first = pins[0];
  if (!first) {
    const c = parseCidr(picked);
    return { cidr: cidrText(c), serverIP: intToIp(c.base + 1), pinned: false };
  }
  const c = parseCidr(first.address);
  const gateway = pins.find((p) => p.gateway && inCidr(c, p.gateway))?.gateway;
  return {
    cidr: cidrText(c),
    serverIP: gateway ?? lastHost(c),
    ...(gateway ? { gateway } : {}),
    pinned: true,
  };
}

/** dnsmasq's range options for a segment (the host pins come from its hosts file). */
export function dhcpRange(s: Segment): string {
  const c = parseCidr(s.cidr);
  const mask = netmaskOf(c);
  if (s.pinned) return `${intToIp(c.base)},static,${mask},1h`;
  return `${intToIp(c.base + 10)},${lastHost(c)},${mask},1h`;
}
