// One launcher pod's network namespace (I/O): nested in the node's user namespace, a routed veth
// to the node (pod.ts's plan: plan.ts), KubeVirt's masquerade binding for the pod network's card
// (bridge k6t-eth0, the tap, dnsmasq giving the guest 10.0.2.2, nat to and from the pod IP), and
// for each L2 card a veth onto its network's bridge with KubeVirt's bridge binding.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { linkName } from './addresses.ts';
import type { Attachment } from './attachments.ts';
import { holdPod, inside, run, runAll, type Holder } from './holder.ts';
import type { Pin } from './l2-config.ts';
import {
  dnsmasqArgs,
  l2HostSide,
  l2PodSide,
  leasedAddress,
  MASQ,
  masqueradeRuleset,
  podHostSide,
  podSide,
} from './plan.ts';
import type { Segments } from './segments.ts';

export interface AttachInput {
  key: string;
  podIP: string;
  cards: Attachment[];
  pins: Pin[];
  /** The bridge of each multus network name (read from its NetworkAttachmentDefinition). */
  bridges: Map<string, string>;
  node: Holder;
  segments: Segments;
  dir: string;
}

export interface AttachedPod {
  holder: Holder;
  podIP: string;
  /** When the namespace was made (ms): leases older than this are not this guest's. */
  since: number;
  cards: { name: string; mac: string; tap: string; bootable: boolean; bridge?: string }[];
  /** Whether the guest took the masquerade address (10.0.2.2) for `mac` from the pod's DHCP server. */
  guestLeased(mac: string): boolean;
  /** The argv that runs a command (QEMU) in the pod's namespace, dying with the engine. */
  inside(argv: readonly string[]): string[];
  stop(): void;
}

/** Makes the pod's namespace and every card's links; on a failure, nothing is left. */
export async function attachPod(i: AttachInput): Promise<AttachedPod> {
  const holder = await holdPod(i.node);
  const children: ChildProcess[] = [];
  const dir = join(i.dir, linkName('p', i.key));
  const stop = (): void => {
    for (const c of children) c.kill('SIGKILL');
    holder.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const podCard = i.cards.find((c) => c.network.kind === 'pod');
    const links = {
      hostLink: linkName('vp', i.key),
      podIP: i.podIP,
      ...(podCard ? { tap: podCard.tap } : {}),
    };
    await runAll(i.node, podHostSide(links, holder.pid));
    await runAll(holder, podSide(links));
    if (podCard) children.push(await masquerade(holder, i.podIP, dir));
    const cards: AttachedPod['cards'] = [];
    for (const [n, c] of i.cards.entries()) {
      const base = { name: c.name, mac: c.mac, tap: c.tap, bootable: c.bootable };
      if (c.network.kind === 'pod') {
        cards.push(base);
        continue;
      }
      const bridge = i.bridges.get(c.network.networkName) ?? '';
      await i.segments.ensure(bridge, i.pins);
      const l2 = {
        bridge,
        hostLink: linkName('vl', `${i.key}/${c.name}`),
        podLink: `net${n + 1}`,
        tap: c.tap,
      };
      await runAll(i.node, l2HostSide(l2, holder.pid));
      await runAll(holder, l2PodSide(l2));
      cards.push({ ...base, bridge });
    }
    const since = Date.now();
    return {
      holder,
      podIP: i.podIP,
      since,
      cards,
      guestLeased: (mac) => {
        try {
          const leases = readFileSync(join(dir, 'masquerade.leases'), 'utf8');
          return leasedAddress(leases, mac, since / 1000) === MASQ.guest;
        } catch {
          return false;
        }
      },
      inside: (argv) => inside(holder, argv),
      stop,
    };
  } catch (e) {
    stop();
    throw e;
  }
}

/** KubeVirt's masquerade: nat to and from the pod IP, and the guest's DHCP server. */
async function masquerade(holder: Holder, podIP: string, dir: string): Promise<ChildProcess> {
  const r = await run(inside(holder, ['nft', '-f', '-']), masqueradeRuleset(podIP));
  if (r.code !== 0) throw new Error(`nft (masquerade): ${r.stderr.trim()}`);
  const argv = inside(holder, [
    'dnsmasq',
    ...dnsmasqArgs({
      iface: MASQ.bridge,
      range: `${MASQ.guest},${MASQ.guest},255.255.255.0,1h`,
      leaseFile: join(dir, 'masquerade.leases'),
      logFile: join(dir, 'masquerade.log'),
      router: MASQ.gateway,
    }),
  ]);
  return spawn(argv[0] ?? '', argv.slice(1), { stdio: 'ignore' });
}
