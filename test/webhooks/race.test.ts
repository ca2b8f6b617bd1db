// Two webhook replicas, each its own process, behind a round-robin TCP proxy as a Service would
// be; kube-apiserver calls them. In each round two VMs that attach the same VirtualMachineDisk
// are created at once: the disk claim (written with a resourceVersion precondition) lets exactly
// one of them in, whichever replica answers which request.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { ApiError, KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import { webhookConfigurations } from '../../webhooks/src/registration.ts';
import { unregisterWebhooks } from '../../webhooks/src/main.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { RoundRobinProxy } from '../support/roundrobin.ts';
import { inject } from 'vitest';

const ROUNDS = 50;
const V = API_VERSION;
const scope = `r${randomBytes(3).toString('hex')}`;
const SCOPE_LABEL = { 'vmplane.io/webhook-scope': scope };
const own = `vmplane-${scope}`;
let ns = '';
let rest: KubeRest;
let proxy: RoundRobinProxy;
const replicas: { child: ChildProcess; port: number; log: string[] }[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function ready(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false, timeout: 1000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function startReplica(): Promise<void> {
  const port = await freePort();
  const log: string[] = [];
  const child = spawn(process.execPath, ['--import', 'tsx', 'webhooks/src/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      KUBECONFIG: inject('kubeconfig'),
      VMPLANE_NAMESPACE: own,
      VMPLANE_LISTEN_HOST: '127.0.0.1',
      VMPLANE_PORT: String(port),
      VMPLANE_CERT_IPS: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => log.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
  replicas.push({ child, port, log });
}

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ns = await createNamespace('race', SCOPE_LABEL);
  await rest.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: own } });
  for (const f of [
    {
      apiVersion: V,
      kind: 'VirtualMachineClass',
      metadata: { name: `small-${scope}`, labels: SCOPE_LABEL },
      spec: { hardware: { cpus: 1, memory: '1Gi' } },
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: `race-${scope}` },
      provisioner: 'rbd.csi.ceph.com',
    },
  ] as KubeObjectLike[])
    await rest.create(f);
  // The first replica makes the serving certificate; the second finds it in the Secret.
  await startReplica();
  await waitUntil(
    'replica 1 ready',
    () => ready((replicas[0] as { port: number }).port),
    60_000,
    200,
  );
  await startReplica();
  await waitUntil(
    'replica 2 ready',
    () => ready((replicas[1] as { port: number }).port),
    60_000,
    200,
  );
  proxy = new RoundRobinProxy(() => replicas.map((r) => r.port));
  const port = await proxy.start();
  const secret = await rest.request<{ data: Record<string, string> }>(
    'GET',
    `/api/v1/namespaces/${own}/secrets/vmplane-webhook-tls`,
  );
  const caBundlePem = Buffer.from(secret.body.data['ca.crt'] ?? '', 'base64').toString();
  for (const cfg of webhookConfigurations({
    endpoint: { url: `https://127.0.0.1:${port}` },
    caBundlePem,
    ownNamespace: own,
    scope,
  }))
    await rest.apply(cfg as never, { fieldManager: 'race-test' });
}, 120_000);

afterAll(async () => {
  await unregisterWebhooks(kubeConfig(), {
    mutating: `vmplane-mutating-${scope}`,
    validating: `vmplane-validating-${scope}`,
  });
  for (const r of replicas) r.child.kill('SIGTERM');
  await Promise.all(
    replicas.map(
      (r) =>
        new Promise<void>((resolve) => {
          if (r.child.exitCode !== null) return resolve();
          const t = setTimeout(() => r.child.kill('SIGKILL'), 5_000);
          r.child.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
        }),
    ),
  );
  await proxy?.stop();
  rest?.close();
});

/** Rounds whose two VM creations were validated by different replicas, from their decision logs. */
function roundsSplitAcrossReplicas(): number {
  const decidedBy = new Map<string, number>();
  replicas.forEach((r, i) => {
    for (const line of r.log.join('').split('\n')) {
      if (!line.includes('"admission decision"')) continue;
      const d = JSON.parse(line) as { webhook: string; kind: string; name: string };
      if (d.webhook === 'validate' && d.kind === 'VirtualMachine') decidedBy.set(d.name, i);
    }
  });
  let split = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const a = decidedBy.get(`a${i}`);
    const b = decidedBy.get(`b${i}`);
    if (a !== undefined && b !== undefined && a !== b) split++;
  }
  return split;
}

const vmUsing = (name: string, disk: string): KubeObjectLike => ({
  apiVersion: V,
  kind: 'VirtualMachine',
  metadata: { name, namespace: ns },
  spec: {
    className: `small-${scope}`,
    powerState: 'PoweredOff',
    disks: [{ name: 'root', virtualMachineDiskName: disk, boot: true }],
  },
});

describe('two webhook replicas, one disk, two VMs at once', () => {
  it(`admits exactly one of the two, in each of ${ROUNDS} rounds`, async () => {
    let bothAdmitted = 0;
    let neither = 0;
    const refusals = new Set<string>();
    for (let i = 0; i < ROUNDS; i++) {
      const disk = `d${i}`;
      await rest.create({
        apiVersion: V,
        kind: 'VirtualMachineDisk',
        metadata: { name: disk, namespace: ns },
        spec: {
          size: '1Gi',
          storageClassName: `race-${scope}`,
          accessModes: ['ReadWriteOnce'],
          volumeMode: 'Filesystem',
        },
      });
      const results = await Promise.allSettled([
        rest.create(vmUsing(`a${i}`, disk)),
        rest.create(vmUsing(`b${i}`, disk)),
      ]);
      const admitted = results.filter((r) => r.status === 'fulfilled').length;
      if (admitted === 2) bothAdmitted++;
      if (admitted === 0) neither++;
      for (const r of results)
        if (r.status === 'rejected') {
          const e = r.reason as ApiError;
          expect(e).toBeInstanceOf(ApiError);
          expect(e.code, e.message).toBe(409);
          refusals.add(e.message.replace(/"[ab]\d+"/, '"VM"').replace(/"d\d+"/, '"DISK"'));
        }
    }
    // The replicas write their decision logs at least every second.
    await new Promise((r) => setTimeout(r, 1_500));
    const split = roundsSplitAcrossReplicas();
    console.log(
      `${ROUNDS} rounds: both admitted ${bothAdmitted}, neither ${neither}; the two VMs were decided by different replicas in ${split} rounds; connections per replica ${proxy.served.join(', ')}; refusals: ${[...refusals].join(' | ')}`,
    );
    expect(bothAdmitted).toBe(0);
    expect(neither).toBe(0);
    // The race really crossed replicas (not one replica deciding both requests of every round).
    expect(split).toBeGreaterThan(0);
  }, 240_000);
});
