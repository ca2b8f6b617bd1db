// The engine's L2 segments (I/O): per bridge in the node namespace, the node's address on it and
// dnsmasq playing the segment's DHCP server, with the MACs pinned to addresses in a hosts file
// (re-read on SIGHUP). A segment's subnet is fixed when its bridge is made: by the first pinned
// address, else a /24 the engine picks from 10.245.0.0/16.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inside, runAll, type Holder } from './holder.ts';
import { dhcpRange, segmentFor, type Pin, type Segment } from './l2-config.ts';
import { bridgeSetup, dnsmasqArgs, leasedAddress } from './plan.ts';
import { inCidr, parseCidr } from './addresses.ts';

interface Served {
  segment: Segment;
  dnsmasq: ChildProcess;
  hostsFile: string;
  leaseFile: string;
  pins: Map<string, string>;
}

export class Segments {
  private readonly byBridge = new Map<string, Served>();
  private picked = 0;

  constructor(
    private readonly node: Holder,
    private readonly dir: string,
    /** Called when a bridge (and its subnet) is added: the node's ruleset allows the subnet. */
    private readonly changed: (subnets: string[]) => Promise<void>,
  ) {}

  subnets(): string[] {
    return [...this.byBridge.values()].map((s) => s.segment.cidr);
  }

  /** The bridge, made and served if new; the pins of this VMI that fall in its subnet added. */
  async ensure(bridge: string, pins: readonly Pin[]): Promise<void> {
    const had = this.byBridge.get(bridge);
    const segment = had?.segment ?? segmentFor(pins, `10.245.${this.picked++ % 256}.0/24`);
    const c = parseCidr(segment.cidr);
    const known = had?.pins ?? new Map<string, string>();
    const fresh = pins.filter(
      (p) => inCidr(c, p.address.split('/')[0] ?? '') && known.get(p.mac) !== p.address,
    );
    for (const p of fresh) known.set(p.mac, p.address);
    const hostsFile = join(this.dir, `${bridge}.hosts`);
    if (!had || fresh.length)
      writeFileSync(
        hostsFile,
        [...known].map(([m, a]) => `${m},${a.split('/')[0] ?? ''}\n`).join(''),
      );
    if (had) {
      // dnsmasq reads its hosts file again on SIGHUP.
      if (fresh.length) had.dnsmasq.kill('SIGHUP');
      return;
    }
    await runAll(this.node, bridgeSetup(bridge, segment.serverIP, segment.cidr));
    const leaseFile = join(this.dir, `${bridge}.leases`);
    writeFileSync(leaseFile, '');
    const argv = inside(this.node, [
      'dnsmasq',
      ...dnsmasqArgs({
        iface: bridge,
        range: dhcpRange(segment),
        leaseFile,
        hostsFile,
        logFile: join(this.dir, `${bridge}.log`),
        ...(segment.gateway ? { router: segment.gateway } : {}),
      }),
    ]);
    const dnsmasq = spawn(argv[0] ?? '', argv.slice(1), { stdio: 'ignore' });
    this.byBridge.set(bridge, { segment, dnsmasq, hostsFile, leaseFile, pins: known });
    await this.changed(this.subnets());
  }

  /** The address the segment's server leased to `mac` since `sinceS` (epoch seconds). */
  leased(bridge: string, mac: string, sinceS: number): string | undefined {
    const s = this.byBridge.get(bridge);
    if (!s) return undefined;
    try {
      return leasedAddress(readFileSync(s.leaseFile, 'utf8'), mac, sinceS);
    } catch {
      return undefined;
    }
  }

  stop(): void {
    for (const s of this.byBridge.values()) s.dnsmasq.kill('SIGKILL');
    this.byBridge.clear();
  }
}
