// The local engine's node network, end to end on the real control plane: two tiny Linux VMs on the
// pod network and on an L2 network (a NetworkAttachmentDefinition's bridge) get the addresses their
// cloud-init network data pins from the segment's DHCP server (dnsmasq), ping each other there and
// at their pod IPs, keep MACs and addresses across stop/start, and reach nothing else: not a
// listener in a network namespace this test makes, not one on this host's loopback; the node
// namespace has no default route and its drop counter counts what was dropped.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NamespaceNetwork } from '../../engine/src/network/namespace-network.ts';
import type { NodeNetwork } from '../../engine/src/network/node-network.ts';
import { startNodeNetwork, type StartedNetwork } from '../../engine/src/network/start.ts';
import { TINY_PROMPT } from '../../engine/src/tiny-linux.ts';
import {
  bridgeNad,
  kubevirtVm,
  startTestEngine,
  tinyDataVolume,
  type TestEngine,
} from '../support/engine.ts';

const VMS = {
  a: { mac: '02:76:6d:e0:00:0a', l2mac: '02:76:6d:e0:01:0a', ip: '192.168.77.10' },
  b: { mac: '02:76:6d:e0:00:0b', l2mac: '02:76:6d:e0:01:0b', ip: '192.168.77.11' },
} as const;
type Name = keyof typeof VMS;

let t: TestEngine;
let net: StartedNetwork;
let node: NodeNetwork;
let netDir = '';
const key = (n: Name): string => `${t.ns}/${n}`;

function vm(name: Name): object {
  const v = VMS[name];
  const networkData = [
    'version: 2',
    'ethernets:',
    '  pod:',
    `    match: {macaddress: "${v.mac}"}`,
    '    dhcp4: true',
    '  blue:',
    `    match: {macaddress: "${v.l2mac}"}`,
    `    addresses: [${v.ip}/24]`,
  ].join('\n');
  return kubevirtVm(
    t.ns,
    name,
    { dataVolumeTemplates: [tinyDataVolume(`${name}-root`, t.storageClass)] },
    {
      networks: [
        { name: 'default', pod: {} },
        { name: 'blue', multus: { networkName: 'blue' } },
      ],
      volumes: [
        { name: 'root', dataVolume: { name: `${name}-root` } },
        { name: 'cloudinit', cloudInitNoCloud: { userData: '#cloud-config\n', networkData } },
      ],
    },
    {
      devices: {
        disks: [
          { name: 'root', disk: { bus: 'virtio' } },
          { name: 'cloudinit', disk: { bus: 'virtio' } },
        ],
        interfaces: [
          { name: 'default', masquerade: {}, macAddress: v.mac },
          { name: 'blue', bridge: {}, macAddress: v.l2mac },
        ],
      },
    },
  );
}

/** Types a command on the guest's console; resolves with what it printed up to the marker. */
async function sh(name: Name, command: string, marker: RegExp | string, timeoutMs = 30_000) {
  const guest = t.engine.running.get(key(name));
  if (!guest) throw new Error(`no guest for ${name}`);
  const from = guest.serial.output.length;
  guest.serial.type(`${command}\n`);
  return guest.serial.waitFor(marker, timeoutMs, from);
}

interface StatusIface {
  name?: string;
  mac?: string;
  ipAddress?: string;
  ipAddresses?: string[];
}

/** Pings `to` twice from a guest; prints ping's summary, then ping-ok-2 or ping-bad-2. */
const ping = (to: string): string =>
  `ping -c 2 -W 3 ${to} >/tmp/ping.out; r=$?; tail -1 /tmp/ping.out; [ $r = 0 ] && echo ping-ok-$((1+1)) || echo ping-bad-$((1+1))`;

/** The instance Running with an address observed on each card. */
async function running(name: Name): Promise<StatusIface[]> {
  return t.until(`${name} Running with its addresses observed`, async () => {
    const x = await t.get(t.vmiPath(name));
    const ifaces = (x?.status?.interfaces ?? []) as StatusIface[];
    return x?.status?.phase === 'Running' && ifaces.length === 2 && ifaces.every((i) => i.ipAddress)
      ? ifaces
      : undefined;
  });
}

async function launcherPodIP(name: Name): Promise<string | undefined> {
  const pods = await t.rest.request<{
    items: { metadata: { name: string }; status?: { phase?: string; podIP?: string } }[];
  }>('GET', `/api/v1/namespaces/${t.ns}/pods?labelSelector=vm.kubevirt.io/name=${name}`);
  return pods.body.items.find((p) => p.status?.phase === 'Running')?.status?.podIP;
}

beforeAll(async () => {
  netDir = mkdtempSync(join(tmpdir(), 'vmplane-test-enet-'));
  net = await startNodeNetwork(join(netDir, 'network'), (l) => console.log(l));
  if (net.network?.mode !== 'namespace')
    throw new Error(
      'user namespaces are refused on this machine: the node network cannot be tested',
    );
  node = net.network;
  t = await startTestEngine('enet', { network: node });
  await bridgeNad(t, 'blue', 'br-blue');
  for (const n of ['a', 'b'] as const) await t.rest.create(vm(n) as never);
}, 300_000);

afterAll(async () => {
  await t?.stop();
  net?.stop();
  rmSync(netDir, { recursive: true, force: true });
});

describe('VMs on the engine’s node network', () => {
  it('get the pinned L2 addresses from the segment’s DHCP server and their pod IPs, as observed in status', async () => {
    for (const n of ['a', 'b'] as const) {
      const ifaces = await running(n);
      const podIP = await launcherPodIP(n);
      expect(podIP).toMatch(/^10\.244\.0\.\d+$/);
      expect(ifaces).toEqual([
        expect.objectContaining({ name: 'default', mac: VMS[n].mac, ipAddress: podIP }),
        expect.objectContaining({ name: 'blue', mac: VMS[n].l2mac, ipAddress: VMS[n].ip }),
      ]);
      const guest = t.engine.running.get(key(n));
      await guest?.serial.waitFor(TINY_PROMPT, 90_000);
      expect(await sh(n, 'ip -4 addr show eth1; echo addr-$((40+2))', 'addr-42')).toContain(
        `${VMS[n].ip}/24`,
      );
    }
  }, 240_000);

  it('ping each other at their L2 addresses and at their pod IPs', async () => {
    const podB = await launcherPodIP('b');
    for (const [from, to] of [
      ['a', VMS.b.ip],
      ['b', VMS.a.ip],
      ['a', podB ?? ''],
    ] as const) {
      const out = await sh(from, ping(to), /ping-(ok|bad)-2/);
      console.log(
        `ping ${from} -> ${to}: ${/round-trip.*|rtt.*/.exec(out)?.[0] ?? '(no summary)'}`,
      );
      expect(out).toContain('ping-ok-2');
    }
  }, 120_000);

  it('a guest port is reachable through the node network, as port-forward and probes reach it', async () => {
    const up = await sh(
      'b',
      'mkdir -p /www && echo from-b > /www/x.txt && httpd -p 8080 -h /www && echo httpd-$((40+2))',
      'httpd-42',
    );
    expect(up).toContain('httpd-42');
    const conn = await node.connectGuest({ namespace: t.ns, name: 'b' }, 8080);
    const answer = await new Promise<string>((resolve, reject) => {
      let got = '';
      conn.on('data', (b: Buffer) => (got += String(b)));
      conn.on('end', () => resolve(got));
      conn.on('error', reject);
      conn.write('GET /x.txt HTTP/1.0\r\n\r\n');
    });
    conn.destroy();
    expect(answer).toMatch(/^HTTP\/1\.[01] 200 OK[\s\S]*\r\n\r\nfrom-b\n$/);
    await expect(node.connectGuest({ namespace: t.ns, name: 'b' }, 9)).rejects.toThrow();
  }, 60_000);

  it('reach no listener in a namespace the test made nor on this host’s loopback; nothing routes out', async () => {
    const listener = await isolatedListener();
    const loopback = await loopbackListener();
    try {
      const dropped = async (): Promise<number> => {
        const r = await node.exec([
          'nft',
          '-j',
          'list',
          'counter',
          'inet',
          'vmplane-node',
          'isolation',
        ]);
        return (
          (JSON.parse(r.stdout) as { nftables: { counter?: { packets: number } }[] }).nftables.find(
            (x) => x.counter,
          )?.counter?.packets ?? -1
        );
      };
      const before = await dropped();
      const tryTcp = (ip: string, port: number) =>
        `nc -w 3 ${ip} ${port} </dev/null && echo tcp-open-$((1+1)) || echo tcp-closed-$((1+1))`;
      expect(await sh('a', tryTcp('10.99.0.1', 8080), /tcp-(open|closed)-2/)).toContain(
        'tcp-closed-2',
      );
      expect(await sh('a', tryTcp('127.0.0.1', loopback.port), /tcp-(open|closed)-2/)).toContain(
        'tcp-closed-2',
      );
      expect(listener.connections()).toBe(0);
      expect(loopback.connections()).toBe(0);
      expect(await dropped()).toBeGreaterThan(before);
      const routes = await node.exec(['ip', 'route', 'show', 'default']);
      expect(routes.code).toBe(0);
      expect(routes.stdout.trim()).toBe('');
      const all = await node.exec(['ip', '-4', 'route']);
      expect(all.stdout).toContain('192.168.77.0/24 dev br-blue');
    } finally {
      listener.stop();
      loopback.stop();
    }
  }, 120_000);

  it('keeps MACs and addresses across a stop and a start', async () => {
    const patch = (runStrategy: string) =>
      t.rest.request('PATCH', t.vmPath('a'), {
        body: { spec: { runStrategy } },
        contentType: 'application/merge-patch+json',
      });
    await patch('Halted');
    await t.until('a stopped', async () => !(await t.get(t.vmiPath('a'))));
    expect((node as NamespaceNetwork).podIP(key('a'))).toBeUndefined();
    await patch('Always');
    const ifaces = await running('a');
    expect(ifaces[1]).toMatchObject({ name: 'blue', mac: VMS.a.l2mac, ipAddress: VMS.a.ip });
    expect(ifaces[0]).toMatchObject({ name: 'default', mac: VMS.a.mac });
    await t.engine.running.get(key('a'))?.serial.waitFor(TINY_PROMPT, 90_000);
    expect(await sh('a', ping(VMS.b.ip), /ping-(ok|bad)-2/)).toContain('ping-ok-2');
  }, 240_000);
});

/** A TCP listener on 10.99.0.1:8080 inside a network namespace of the test's own. */
async function isolatedListener(): Promise<{ connections(): number; stop(): void }> {
  const server = [
    "let n=0;require('net').createServer((s)=>{n++;console.log('conn',n);s.end();})",
    ".listen(8080,'10.99.0.1',()=>console.log('listening'));",
  ].join('');
  const child: ChildProcess = spawn(
    'unshare',
    [
      '--user',
      '--map-root-user',
      '--net',
      '--',
      'sh',
      '-c',
      `ip link set lo up && ip addr add 10.99.0.1/32 dev lo && exec "${process.execPath}" -e "${server}"`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  await t.until('the isolated listener', async () => out.includes('listening'));
  return {
    connections: () => (out.match(/conn/g) ?? []).length,
    stop: () => child.kill('SIGKILL'),
  };
}

/** A TCP listener on this host's loopback. */
async function loopbackListener(): Promise<{ port: number; connections(): number; stop(): void }> {
  let n = 0;
  const server: Server = createServer((s) => {
    n++;
    s.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { port, connections: () => n, stop: () => server.close() };
}
