// The engine's node network in namespace mode (I/O): the node namespace (holder.ts), its
// isolation ruleset, the pod range's allocator, each running VMI's pod namespace (pod.ts) and the
// L2 segments (segments.ts). Implements the NodeNetwork contract plus what virt-handler needs:
// attach a VMI's cards before QEMU starts, observe their addresses, detach when the guest is gone.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { nextFree } from './addresses.ts';
import { holdNode, inside, run, runAll, type Holder } from './holder.ts';
import type { ExecResult, NodeNetwork, PodNetworkRef } from './node-network.ts';
import { NODE_IP, nodeRuleset, nodeSetup, POD_CIDR } from './plan.ts';
import { attachPod, type AttachedPod, type AttachInput } from './pod.ts';
import { Segments } from './segments.ts';

/** What a VMI's guest sees on each card, as observed now (the interfaces of its status). */
export interface ObservedInterface {
  name: string;
  mac: string;
  ip?: string;
}

/** A TCP connection from inside a namespace: a Node child there, piping its stdio to the socket. */
const CONNECT = [
  "const s=require('net').connect(+process.argv[2],process.argv[1]);",
  "s.on('connect',()=>{process.stderr.write('connected\\n');process.stdin.pipe(s);s.pipe(process.stdout);});",
  "s.on('error',(e)=>{process.stderr.write(e.message+'\\n');process.exit(1);});",
  "s.on('close',()=>process.exit(0));",
].join('');

export class NamespaceNetwork implements NodeNetwork {
  readonly mode = 'namespace' as const;
  readonly nodeIP = NODE_IP;
  readonly podCIDR = POD_CIDR;
  private readonly pods = new Map<string, AttachedPod>();
  private readonly segments: Segments;

  private constructor(
    private readonly node: Holder,
    private readonly dir: string,
  ) {
    this.segments = new Segments(node, dir, (subnets) => this.nft(nodeRuleset(subnets)));
  }

  /** Makes the node namespace in `dir` (lease and hosts files); stop() removes both. */
  static async start(dir: string): Promise<NamespaceNetwork> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const node = await holdNode();
    const n = new NamespaceNetwork(node, dir);
    try {
      await runAll(node, nodeSetup());
      await n.nft(nodeRuleset([]));
    } catch (e) {
      n.stop();
      throw e;
    }
    return n;
  }

  /** The node namespace's holder (its pid: `nsenter -t <pid> -U -n --preserve-credentials`). */
  get holderPid(): number {
    return this.node.pid;
  }

  exec(
    argv: readonly string[],
    o: { input?: string; pod?: PodNetworkRef } = {},
  ): Promise<ExecResult> {
    const where = o.pod ? this.pods.get(`${o.pod.namespace}/${o.pod.name}`)?.holder : this.node;
    if (!where)
      return Promise.resolve({
        code: 1,
        stdout: '',
        stderr: `no pod network namespace for ${o.pod?.namespace}/${o.pod?.name}`,
      });
    return run(inside(where, argv), o.input);
  }

  async nft(ruleset: string): Promise<void> {
    const r = await run(inside(this.node, ['nft', '-f', '-']), ruleset);
    if (r.code !== 0) throw new Error(`nft: ${r.stderr.trim()}`);
  }

  connect(ip: string, port: number): Promise<Duplex> {
    const argv = inside(this.node, [process.execPath, '-e', CONNECT, ip, String(port)]);
    const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    return new Promise((resolve, reject) => {
      let said = '';
      child.stderr.on('data', (b: Buffer) => {
        said += b.toString();
        if (said.startsWith('connected\n')) {
          const d = Duplex.from({ readable: child.stdout, writable: child.stdin });
          d.once('close', () => child.kill('SIGKILL'));
          resolve(d);
        }
      });
      child.once('exit', () =>
        reject(new Error(`connect ${ip}:${port}: ${said.trim() || 'failed'}`)),
      );
    });
  }

  connectGuest(vmi: { namespace: string; name: string }, port: number): Promise<Duplex> {
    const pod = this.pods.get(`${vmi.namespace}/${vmi.name}`);
    if (!pod?.podIP)
      return Promise.reject(
        new Error(`VirtualMachineInstance ${vmi.namespace}/${vmi.name} is not running`),
      );
    return this.connect(pod.podIP, port);
  }

  /** The VMI's pod namespace and cards, made before its QEMU starts; its pod IP allocated. */
  async attach(
    key: string,
    input: Omit<AttachInput, 'podIP' | 'node' | 'segments' | 'dir'>,
  ): Promise<AttachedPod> {
    this.detach(key);
    const used = new Set([NODE_IP, ...[...this.pods.values()].map((p) => p.podIP)]);
    const podIP = nextFree(POD_CIDR, used);
    if (!podIP) throw new Error(`the pod range ${POD_CIDR} is full`);
    const pod = await attachPod({
      ...input,
      podIP,
      node: this.node,
      segments: this.segments,
      dir: join(this.dir, 'pods'),
    });
    this.pods.set(key, pod);
    return pod;
  }

  /**
   * The cards of a VMI as observed: pod network → its pod IP once the guest took the masquerade
   * address from the pod's DHCP server; L2 → the address the segment's server leased it.
   */
  observe(key: string): ObservedInterface[] {
    const pod = this.pods.get(key);
    if (!pod) return [];
    return pod.cards.map((c) => {
      const ip =
        c.bridge === undefined
          ? pod.guestLeased(c.mac)
            ? pod.podIP
            : undefined
          : this.segments.leased(c.bridge, c.mac, pod.since / 1000);
      return { name: c.name, mac: c.mac, ...(ip ? { ip } : {}) };
    });
  }

  /**
   * A migration's target pod takes the VMI's place (`to`, the VMI's key) and the source's pod
   * namespace goes. The guest keeps the addresses it took from the source's DHCP servers (it does
   * not ask again), so the target counts them as leased: the source's masquerade lease, and L2
   * leases from when the source was made.
   */
  promote(from: string, to: string): void {
    const target = this.pods.get(from);
    if (!target) return;
    const source = this.pods.get(to);
    const kept = new Set(source?.cards.filter((c) => source.guestLeased(c.mac)).map((c) => c.mac));
    const own = target.guestLeased;
    this.pods.delete(from);
    this.pods.set(to, {
      ...target,
      since: source?.since ?? target.since,
      guestLeased: (mac) => kept.has(mac) || own(mac),
    });
    source?.stop();
  }

  podIP(key: string): string | undefined {
    return this.pods.get(key)?.podIP;
  }

  /** Removes a VMI's pod namespace (its processes and links go with it). */
  detach(key: string): void {
    const pod = this.pods.get(key);
    if (!pod) return;
    this.pods.delete(key);
    pod.stop();
  }

  stop(): void {
    for (const key of [...this.pods.keys()]) this.detach(key);
    this.segments.stop();
    this.node.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
