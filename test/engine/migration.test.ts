// Live migration on the local engine, end to end on the real control plane with KubeVirt's CRDs:
// a tiny Linux guest (256 MiB, a ReadWriteMany disk, the pod network and an L2 network) on a
// two-node engine migrates to the other node through a real QEMU migration: its uptime goes on, a
// loop started before keeps counting, the source QEMU is gone, nodeName and the launcher Pod
// changed, it keeps its L2 address and MAC, and the pings it sends throughout are counted. A
// migration slowed by a MigrationPolicy (bandwidth) and cancelled half way (its object deleted)
// leaves the guest where it was, running.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvm } from '../support/kubectl-vm.ts';
import { startNodeNetwork, type StartedNetwork } from '../../engine/src/network/start.ts';
import { TINY_PROMPT } from '../../engine/src/tiny-linux.ts';
import {
  bridgeNad,
  kubevirtVm,
  startTestEngine,
  type Obj,
  type TestEngine,
} from '../support/engine.ts';
import { TINY_LINUX_URL } from '../../engine/src/main.ts';

const MAC = '02:76:6d:e1:00:0a';
const L2MAC = '02:76:6d:e1:01:0a';
const L2IP = '192.168.78.10';
const POLICIES = '/apis/migrations.kubevirt.io/v1alpha1/migrationpolicies';
// Nodes of this test's own (other test files' engines share the API server and its Nodes).
const TWO_NODES = [
  { name: `emig-${process.pid}-a`, zone: 'zone-a' },
  { name: `emig-${process.pid}-b`, zone: 'zone-b' },
];

let t: TestEngine;
let net: StartedNetwork;
let netDir = '';
let policyName = '';
const key = (): string => `${t.ns}/mig`;
const migrations = (): string =>
  `/apis/kubevirt.io/v1/namespaces/${t.ns}/virtualmachineinstancemigrations`;

function vm(): object {
  const networkData = [
    'version: 2',
    'ethernets:',
    '  pod:',
    `    match: {macaddress: "${MAC}"}`,
    '    dhcp4: true',
    '  blue:',
    `    match: {macaddress: "${L2MAC}"}`,
    `    addresses: [${L2IP}/24]`,
  ].join('\n');
  return kubevirtVm(
    t.ns,
    'mig',
    {
      dataVolumeTemplates: [
        {
          metadata: { name: 'mig-root' },
          spec: {
            source: { http: { url: TINY_LINUX_URL } },
            storage: {
              storageClassName: t.storageClass,
              // Shared storage: what makes the VM live-migratable.
              accessModes: ['ReadWriteMany'],
              resources: { requests: { storage: '64Mi' } },
            },
          },
        },
      ],
    },
    {
      networks: [
        { name: 'default', pod: {} },
        { name: 'blue', multus: { networkName: 'blue' } },
      ],
      // A drain of its node moves it (kubectl vm evacuate).
      evictionStrategy: 'LiveMigrate',
      volumes: [
        { name: 'root', dataVolume: { name: 'mig-root' } },
        { name: 'cloudinit', cloudInitNoCloud: { userData: '#cloud-config\n', networkData } },
      ],
    },
    {
      memory: { guest: '256Mi' },
      devices: {
        disks: [
          { name: 'root', disk: { bus: 'virtio' } },
          { name: 'cloudinit', disk: { bus: 'virtio' } },
        ],
        interfaces: [
          { name: 'default', masquerade: {}, macAddress: MAC },
          { name: 'blue', bridge: {}, macAddress: L2MAC },
        ],
      },
    },
  );
}

/** Types a command on the guest's console (whichever QEMU runs it now); waits for the marker. */
async function sh(command: string, marker: RegExp | string, timeoutMs = 30_000): Promise<string> {
  const guest = t.engine.running.get(key());
  if (!guest) throw new Error('no guest for mig');
  const from = guest.serial.output.length;
  guest.serial.type(`${command}\n`);
  return guest.serial.waitFor(marker, timeoutMs, from);
}

/** The guest's uptime (s) and its loop's count, read on its console. */
async function uptimeAndCount(): Promise<{ uptime: number; count: number }> {
  const out = await sh(
    'echo "up=$(cut -d" " -f1 /proc/uptime) count=$(cat /tmp/count) mark-$((40+2))"',
    /up=[\d.]+ count=\d+ mark-42/,
  );
  const m = /up=([\d.]+) count=(\d+) mark-42/.exec(out);
  return { uptime: Number(m?.[1]), count: Number(m?.[2]) };
}

async function migration(name: string): Promise<Obj | undefined> {
  return t.get(`${migrations()}/${name}`);
}

beforeAll(async () => {
  netDir = mkdtempSync(join(tmpdir(), 'vmplane-test-emig-'));
  net = await startNodeNetwork(join(netDir, 'network'), (l) => console.log(l));
  if (net.network?.mode !== 'namespace')
    throw new Error('user namespaces are refused on this machine: migration cannot be tested');
  t = await startTestEngine('emig', { network: net.network, nodes: TWO_NODES });
  await bridgeNad(t, 'blue', 'br-mig');
  await t.rest.create(vm() as never);
}, 300_000);

afterAll(async () => {
  for (const n of TWO_NODES)
    await t?.rest.request('DELETE', `/api/v1/nodes/${n.name}`).catch(() => undefined);
  if (policyName)
    await t?.rest.request('DELETE', `${POLICIES}/${policyName}`).catch(() => undefined);
  await t?.stop();
  net?.stop();
  rmSync(netDir, { recursive: true, force: true });
});

describe('live migration on the local engine', () => {
  let before: { uptime: number; count: number };
  let serverIP = '';

  it('runs the guest on one of two nodes, LiveMigratable (shared disk, masquerade)', async () => {
    const vmi = await t.until('mig Running with LiveMigratable and its L2 address', async () => {
      const x = await t.get(t.vmiPath('mig'));
      const ifaces = (x?.status?.interfaces ?? []) as { ipAddress?: string }[];
      return x?.status?.phase === 'Running' && ifaces.some((i) => i.ipAddress === L2IP)
        ? x
        : undefined;
    });
    expect(TWO_NODES.map((n) => n.name)).toContain(vmi.status?.nodeName);
    expect(vmi.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'LiveMigratable', status: 'True' }),
    );
    const nodes = await t.rest.request<{ items: Obj[] }>('GET', '/api/v1/nodes');
    for (const n of TWO_NODES)
      expect(nodes.body.items.find((x) => x.metadata.name === n.name)?.metadata).toMatchObject({
        labels: { 'topology.kubernetes.io/zone': n.zone },
      });
    await t.engine.running.get(key())?.serial.waitFor(TINY_PROMPT, 90_000);
    const addr = await net.network!.exec(['ip', '-4', '-o', 'addr', 'show', 'br-mig']);
    serverIP = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(addr.stdout)?.[1] ?? '';
    expect(serverIP).toMatch(/^192\.168\.78\./);
    await sh(
      '(i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 1; done) & echo loop-$((40+2))',
      'loop-42',
    );
    await new Promise((r) => setTimeout(r, 2_000));
    before = await uptimeAndCount();
    expect(before.count).toBeGreaterThan(0);
  }, 240_000);

  it('migrates it to the other node: uptime and loop go on, the old QEMU is gone, its pings are counted', async () => {
    const source = t.engine.running.get(key());
    if (!source) throw new Error('no guest');
    const sourcePid = source.child.pid ?? 0;
    const sourceNode = source.node;
    const sourcePod = source.pod;
    // Pings from the guest to the node's address on its L2 segment, every 100 ms, throughout.
    await sh(
      `ping -c 200 -i 0.1 ${serverIP} > /tmp/ping.out 2>&1 & echo ping-$((40+2))`,
      'ping-42',
    );
    await new Promise((r) => setTimeout(r, 1_000));
    await t.engine.migrate(t.ns, 'mig', {});
    const list = await t.until('the migration made', async () => {
      const l = await t.rest.request<{ items: Obj[] }>('GET', migrations());
      return l.body.items.length ? l.body.items : undefined;
    });
    const name = list[0]?.metadata.name ?? '';
    expect(name).toMatch(/^kubevirt-migrate-vm-/);
    let sawMigrating = false;
    const done = await t.until('the migration Succeeded', async () => {
      const vmPrint = (await t.get(t.vmPath('mig')))?.status?.printableStatus;
      if (vmPrint === 'Migrating') sawMigrating = true;
      const m = await migration(name);
      if (m?.status?.phase === 'Failed') throw new Error(JSON.stringify(m.status));
      return m?.status?.phase === 'Succeeded' ? m : undefined;
    });
    expect((done.metadata as { labels?: Record<string, string> }).labels).toMatchObject({
      'kubevirt.io/vmi-name': 'mig',
    });
    const phases = (done.status?.phaseTransitionTimestamps as { phase: string }[]).map(
      (p) => p.phase,
    );
    expect(phases).toEqual(
      expect.arrayContaining([
        'Pending',
        'Scheduling',
        'Scheduled',
        'PreparingTarget',
        'TargetReady',
        'Running',
        'Succeeded',
      ]),
    );
    const target = t.engine.running.get(key());
    expect(target?.node).not.toBe(sourceNode);
    expect(target?.child.pid).not.toBe(sourcePid);
    expect(existsSync(`/proc/${sourcePid}`)).toBe(false);
    const vmi = await t.until('the instance on the target node', async () => {
      const x = await t.get(t.vmiPath('mig'));
      return x?.status?.nodeName === target?.node && x?.status?.migrationState?.completed
        ? x
        : undefined;
    });
    expect(vmi.status?.migrationState).toMatchObject({
      sourceNode,
      targetNode: target?.node,
      sourcePod,
      targetPod: target?.pod,
      completed: true,
      failed: false,
      mode: 'PreCopy',
    });
    expect(target?.pod).not.toBe(sourcePod);
    const stats = target?.migrationStats;
    console.log(
      `migration of a 256 MiB guest: ${stats?.totalMs} ms in all, guest paused ${stats?.downtimeMs} ms (QEMU's query-migrate); VM printed Migrating: ${sawMigrating}`,
    );
    const after = await uptimeAndCount();
    expect(after.uptime).toBeGreaterThan(before.uptime);
    expect(after.count).toBeGreaterThan(before.count);
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await uptimeAndCount()).count).toBeGreaterThan(after.count);
    // The guest keeps its L2 address and MAC on the target.
    const ifaces = (vmi.status?.interfaces ?? []) as {
      name: string;
      mac: string;
      ipAddress?: string;
    }[];
    expect(ifaces.find((i) => i.name === 'blue')).toMatchObject({ mac: L2MAC });
    const summary = await sh(
      'sleep 20; tail -2 /tmp/ping.out; echo pinged-$((40+2))',
      'pinged-42',
      60_000,
    );
    const m = /(\d+) packets transmitted, (\d+) (packets )?received/.exec(summary);
    console.log(`pings during the migration: ${m?.[0] ?? summary}`);
    expect(Number(m?.[2])).toBeGreaterThan(0);
    const old = await t.rest.request<{ items: Obj[] }>(
      'GET',
      `/api/v1/namespaces/${t.ns}/pods?labelSelector=vm.kubevirt.io/name=mig`,
    );
    expect(old.body.items.find((p) => p.metadata.name === sourcePod)?.status?.phase).toBe(
      'Succeeded',
    );
  }, 240_000);

  it('cancels a migration slowed by a MigrationPolicy when its object is deleted: the guest stays', async () => {
    await t.rest.request('PATCH', `/api/v1/namespaces/${t.ns}`, {
      body: { metadata: { labels: { 'vmplane-test-migration': t.ns } } },
      contentType: 'application/merge-patch+json',
    });
    policyName = `slow-${t.ns}`;
    await t.rest.create({
      apiVersion: 'migrations.kubevirt.io/v1alpha1',
      kind: 'MigrationPolicy',
      metadata: { name: policyName },
      spec: {
        bandwidthPerMigration: '256Ki',
        allowAutoConverge: true,
        selectors: { namespaceSelector: { 'vmplane-test-migration': t.ns } },
      },
    } as never);
    const source = t.engine.running.get(key());
    const sourcePid = source?.child.pid;
    const sourceNode = source?.node;
    const made = await t.rest.request<Obj>('POST', migrations(), {
      body: {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstanceMigration',
        metadata: { name: 'slow', namespace: t.ns },
        spec: { vmiName: 'mig' },
      },
    });
    expect(made.body.metadata.name).toBe('slow');
    await t.until('the slow migration Running', async () => {
      const m = await migration('slow');
      if (m?.status?.phase === 'Failed' || m?.status?.phase === 'Succeeded')
        throw new Error(`the slow migration ended: ${JSON.stringify(m.status)}`);
      return m?.status?.phase === 'Running' ? m : undefined;
    });
    const params = await source?.qmp.execute<{ 'max-bandwidth': number }>(
      'query-migrate-parameters',
    );
    expect(params?.['max-bandwidth']).toBe(256 * 1024);
    const caps = await source?.qmp.execute<{ capability: string; state: boolean }[]>(
      'query-migrate-capabilities',
    );
    expect(caps).toContainEqual({ capability: 'auto-converge', state: true });
    const vmi = await t.get(t.vmiPath('mig'));
    expect(vmi?.status?.migrationState).toMatchObject({
      migrationPolicyName: policyName,
      migrationConfiguration: { bandwidthPerMigration: '256Ki', allowAutoConverge: true },
    });
    await t.rest.request('DELETE', `${migrations()}/slow`);
    await t.until('the cancelled migration gone', async () => !(await migration('slow')));
    const after = await t.until('the instance says the migration was aborted', async () => {
      const x = await t.get(t.vmiPath('mig'));
      return x?.status?.migrationState?.abortStatus === 'Succeeded' ? x : undefined;
    });
    expect(after.status?.nodeName).toBe(sourceNode);
    expect(after.status?.migrationState).toMatchObject({ failed: true, abortRequested: true });
    const still = t.engine.running.get(key());
    expect(still?.child.pid).toBe(sourcePid);
    expect(existsSync(`/proc/${sourcePid}`)).toBe(true);
    expect((await uptimeAndCount()).count).toBeGreaterThan(before.count);
    // The policy goes: the next migrations run at full speed.
    await t.rest.request('DELETE', `${POLICIES}/${policyName}`);
    policyName = '';
    // Only the guest's own launcher Pod runs: the target's went.
    const pods = await t.rest.request<{ items: Obj[] }>(
      'GET',
      `/api/v1/namespaces/${t.ns}/pods?labelSelector=vm.kubevirt.io/name=mig`,
    );
    expect(
      pods.body.items.filter((p) => p.status?.phase === 'Running').map((p) => p.metadata.name),
    ).toEqual([still?.pod]);
  }, 240_000);
  it('kubectl vm evacuate empties the guest’s node: KubeVirt’s drain taint, a migration of its own, uptime kept', async () => {
    const from = t.engine.running.get(key())?.node ?? '';
    const pid = t.engine.running.get(key())?.child.pid;
    const before2 = await uptimeAndCount();
    const r = await kvm(['evacuate', from, '--wait', '--timeout', '3m']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`node/${from} cordoned and tainted kubevirt.io/drain:NoSchedule`);
    expect(r.stdout).toContain(`${t.ns}/mig: live-migrating off the node`);
    expect(r.stdout).toContain(`node/${from} evacuated: no VM runs on it`);
    expect(r.code).toBe(0);
    const node = await t.get(`/api/v1/nodes/${from}`);
    expect(node?.spec).toMatchObject({
      unschedulable: true,
      taints: [expect.objectContaining({ key: 'kubevirt.io/drain', effect: 'NoSchedule' })],
    });
    const guest = t.engine.running.get(key());
    expect(guest?.node).not.toBe(from);
    expect(guest?.child.pid).not.toBe(pid);
    expect([...t.engine.running.values()].filter((g) => g.node === from)).toEqual([]);
    const list = await t.rest.request<{ items: Obj[] }>('GET', migrations());
    const evacuation = list.body.items.find(
      (m) =>
        (m.metadata as { annotations?: Record<string, string> }).annotations?.[
          'kubevirt.io/evacuationMigration'
        ] === from,
    );
    expect(evacuation?.status?.phase).toBe('Succeeded');
    const after = await uptimeAndCount();
    expect(after.uptime).toBeGreaterThan(before2.uptime);
    expect(after.count).toBeGreaterThan(before2.count);
    const back = await kvm(['uncordon', from]);
    expect(back.stdout).toContain(`node/${from} uncordoned`);
    const uncordoned = (await t.get(`/api/v1/nodes/${from}`))?.spec as {
      unschedulable?: boolean;
      taints?: { key: string }[];
    };
    expect(uncordoned.unschedulable).toBeFalsy();
    expect((uncordoned.taints ?? []).map((x) => x.key)).not.toContain('kubevirt.io/drain');
  }, 240_000);
});
