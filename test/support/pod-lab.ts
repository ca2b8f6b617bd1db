// A small node network for tests, built the way the engine's node namespace is (Calico-like,
// routed): a user + network namespace of the test's own as the "node" (10.244.0.1), and one nested
// network namespace per "pod", joined to the node by a veth, with a /32 address and routes to the
// pod range and the service range through the node. No default route anywhere. Each pod runs a
// tiny TCP server that answers its own name on a few ports; clients are bash's /dev/tcp. Nothing
// leaves the namespaces; `close()` stops every process (which removes the namespaces).
import { spawn, type ChildProcess } from 'node:child_process';

export interface LabPod {
  name: string;
  ip: string;
  pid: number;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const NODE_IP = '10.244.0.1';

/** Runs a command, with its standard input, killed after timeoutMs. */
export function run(argv: string[], input = '', timeoutMs = 10_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += String(b)));
    child.stderr.on('data', (b: Buffer) => (stderr += String(b)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

const enter = (pid: number): string[] => [
  'nsenter',
  '-t',
  String(pid),
  '-U',
  '-n',
  '--preserve-credentials',
];

/** Starts a long-running process and resolves once it printed `ready` (or fails with its words). */
function startReady(argv: string[], what: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] ?? '', argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += String(b)));
    child.stdout.on('data', (b: Buffer) => {
      if (String(b).includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`${what} exited (${code}): ${err}`)));
  });
}

const SERVER = `
const net = require('node:net');
const [name, ...ports] = process.argv.slice(1);
let left = ports.length;
for (const p of ports)
  net.createServer((s) => { s.on('error', () => {}); s.end(name + '\\n'); })
    .listen(Number(p), '0.0.0.0', () => { if (--left === 0) console.log('ready'); });
`;

export class PodLab {
  readonly nodeIP = NODE_IP;
  private readonly children: ChildProcess[] = [];
  readonly pods = new Map<string, LabPod>();
  private holder?: ChildProcess;

  /** The node namespace: a user namespace mapping the caller to root, and its network. */
  async start(): Promise<void> {
    this.holder = await startReady(
      ['unshare', '--user', '--map-root-user', '--net', 'sh', '-c', 'echo ready; exec sleep 3600'],
      'the node namespace',
    );
    this.children.push(this.holder);
    const r = await this.node(
      `ip link set lo up && echo 1 > /proc/sys/net/ipv4/ip_forward && ip addr add ${NODE_IP}/32 dev lo`,
    );
    if (r.code !== 0) throw new Error(`node namespace setup failed: ${r.stderr}`);
  }

  get holderPid(): number {
    return this.holder?.pid ?? 0;
  }

  /** A shell command in the node namespace. */
  node(script: string, input = ''): Promise<RunResult> {
    return run([...enter(this.holderPid), 'sh', '-c', script], input);
  }

  /** A pod: its namespace, its veth, its routes, and its server on `ports`. */
  async addPod(name: string, ip: string, ports: number[]): Promise<LabPod> {
    const ns = await startReady(
      [...enter(this.holderPid), 'unshare', '--net', 'sh', '-c', 'echo ready; exec sleep 3600'],
      `pod ${name}'s namespace`,
    );
    this.children.push(ns);
    const pid = ns.pid ?? 0;
    const veth = `v${this.pods.size}`;
    const r = await this.node(
      [
        `ip link add ${veth} type veth peer name eth0 netns ${pid}`,
        `ip link set ${veth} up`,
        `ip route add ${ip}/32 dev ${veth} src ${NODE_IP}`,
      ].join(' && '),
    );
    if (r.code !== 0) throw new Error(`pod ${name}'s veth: ${r.stderr}`);
    const p = await run([
      ...enter(pid),
      'sh',
      '-c',
      [
        'ip link set lo up',
        `ip addr add ${ip}/32 dev eth0`,
        'ip link set eth0 up',
        `ip route add ${NODE_IP} dev eth0`,
        `ip route add 10.244.0.0/16 via ${NODE_IP} dev eth0`,
        `ip route add 10.0.0.0/24 via ${NODE_IP} dev eth0`,
      ].join(' && '),
    ]);
    if (p.code !== 0) throw new Error(`pod ${name}'s addresses: ${p.stderr}`);
    // The node answers ARP for its address on every veth (proxy ARP plays the gateway).
    await this.node(`echo 1 > /proc/sys/net/ipv4/conf/${veth}/proxy_arp`);
    this.children.push(
      await startReady(
        [...enter(pid), process.execPath, '-e', SERVER, name, ...ports.map(String)],
        `pod ${name}'s server`,
      ),
    );
    const pod = { name, ip, pid };
    this.pods.set(name, pod);
    return pod;
  }

  /**
   * A TCP connection from a pod (or the node) to ip:port: the name the server answered, or
   * `refused` / `timeout`.
   */
  async connect(from: string, ip: string, port: number, timeoutS = 1.5): Promise<string> {
    const pid = from === 'node' ? this.holderPid : this.pods.get(from)?.pid;
    if (!pid) throw new Error(`no pod ${from}`);
    const r = await run(
      [
        ...enter(pid),
        'timeout',
        String(timeoutS),
        'bash',
        '-c',
        `exec 3<>/dev/tcp/${ip}/${port} && head -n1 <&3`,
      ],
      '',
      (timeoutS + 5) * 1000,
    );
    if (r.code === 0) return r.stdout.trim();
    if (r.code === 124) return 'timeout';
    return /refused/i.test(r.stderr) ? 'refused' : `failed: ${r.stderr.trim()}`;
  }

  /** Loads an nftables ruleset into the node namespace. */
  async nft(ruleset: string): Promise<void> {
    const r = await this.node('nft -f -', ruleset);
    if (r.code !== 0) throw new Error(`nft refused the ruleset: ${r.stderr}`);
  }

  /** The packets an nft counter on a line with this comment counted. */
  async counter(table: string, commentText: string): Promise<number> {
    const r = await this.node(`nft list table ${table}`);
    const line = r.stdout.split('\n').find((l) => l.includes(`comment "${commentText}"`));
    const m = /counter packets (\d+)/.exec(line ?? '');
    if (!m) throw new Error(`no counter with comment "${commentText}" in ${table}:\n${r.stdout}`);
    return Number(m[1]);
  }

  async close(): Promise<void> {
    for (const c of this.children.reverse()) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await gone;
    }
  }
}
