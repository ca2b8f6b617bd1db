// The controllers under stress, on a private control plane (they restart it and install KubeVirt's
// CRDs midway, which would disturb other tests): no KubeVirt at first, an API server restart,
// a controller killed in the middle of 200 VMs, two replicas with leader election, and a leader
// whose link to the API server goes silent.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { ensureBinaries } from '../../harness/src/controlplane/binaries.ts';
import { ControlPlane } from '../../harness/src/controlplane/controlplane.ts';
import { installCrds, kubeConfigFrom, waitUntil } from '../../kube/src/client.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { vm as buildVm } from '../support/builders.ts';
import { BlackholeProxy } from '../support/blackhole.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { deployKubeVirt, installEngineCrds } from '../support/kubevirt.ts';

const V = API_VERSION;
let cp: ControlPlane;
let kubeconfig = '';
let rest: KubeRest;
const children: ChildProcess[] = [];
let solo: Replica | undefined;
/** A service account's token that may get /metrics (the controllers ask the API server). */
let scraper: Record<string, string> = {};

interface Replica {
  child: ChildProcess;
  logs: string[];
  metricsPort: number;
}

let nextPort = 0;
function startReplica(identity: string, extra: Record<string, string> = {}): Replica {
  // Below Linux's ephemeral range (32768 and up), where the kernel hands out ports to client
  // sockets and listen(0): a port there may be taken by any connection the suite has open.
  const metricsPort = 20000 + Math.floor(Math.random() * 12000) + nextPort++;
  const logs: string[] = [];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'controllers/src/main.ts')],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        VMPLANE_NAMESPACE: 'vmplane-system',
        VMPLANE_IDENTITY: identity,
        VMPLANE_AUDIT: 'false',
        VMPLANE_LEASE_SECONDS: '4',
        VMPLANE_METRICS_PORT: String(metricsPort),
        ...extra,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (b: Buffer) => logs.push(...b.toString().split('\n').filter(Boolean)));
  child.stderr?.on('data', (b: Buffer) => logs.push(...b.toString().split('\n').filter(Boolean)));
  children.push(child);
  return { child, logs, metricsPort };
}

async function kill(r: Replica, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (r.child.exitCode !== null || r.child.signalCode !== null) return;
  const gone = new Promise((res) => r.child.once('exit', res));
  r.child.kill(signal);
  await gone;
}

async function reconciles(r: Replica): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${r.metricsPort}/metrics`, {
    headers: scraper,
  }).then((x) => x.text());
  return [...text.matchAll(/^vmplane_controller_reconcile_total\{[^}]*\} (\d+)/gm)].reduce(
    (a, m) => a + Number(m[1]),
    0,
  );
}

const list = async (
  path: string,
): Promise<
  {
    metadata: { name: string; uid: string; ownerReferences?: { uid: string }[] };
    status?: { conditions?: { type: string; status: string; reason: string }[] };
  }[]
> => (await rest.request<{ items: [] }>('GET', path)).body.items;
const kvVms = (ns: string): ReturnType<typeof list> =>
  list(`/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`);
const ourVms = (ns: string): ReturnType<typeof list> =>
  list(`/apis/${V}/namespaces/${ns}/virtualmachines`);

function vm(ns: string, name: string): Parameters<KubeRest['create']>[0] {
  const spec = {
    className: 'small',
    image: { kind: 'ClusterVirtualMachineImage' as const, name: 'ubuntu' },
    powerState: 'PoweredOn' as const,
  };
  return buildVm(name, spec, { namespace: ns }) as unknown as Parameters<KubeRest['create']>[0];
}

beforeAll(async () => {
  cp = new ControlPlane({
    binaries: await ensureBinaries(),
    tempPrefix: `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'x'}-ctl-`,
  });
  const ep = await cp.start();
  kubeconfig = ep.kubeconfigPath;
  const kc = kubeConfigFrom(kubeconfig);
  await installCrds(kc, join(REPO_ROOT, 'charts/vmplane/crds'));
  rest = new KubeRest(kc);
  for (const ns of ['vmplane-system', 'engine', 'stress', 'ha', 'audited'])
    await rest.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await rest.create({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'scraper', namespace: 'vmplane-system' },
  });
  await rest.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'metrics-reader' },
    rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }],
  });
  await rest.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'metrics-reader' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'metrics-reader' },
    subjects: [{ kind: 'ServiceAccount', name: 'scraper', namespace: 'vmplane-system' }],
  });
  const token = await rest.request<{ status: { token: string } }>(
    'POST',
    '/api/v1/namespaces/vmplane-system/serviceaccounts/scraper/token',
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} } },
  );
  scraper = { Authorization: `Bearer ${token.body.status.token}` };
  await rest.create({
    apiVersion: V,
    kind: 'VirtualMachineClass',
    metadata: { name: 'small' },
    spec: { hardware: { cpus: 1, memory: '1Gi' } },
  });
  await rest.create({
    apiVersion: V,
    kind: 'ClusterVirtualMachineImage',
    metadata: { name: 'ubuntu' },
    spec: { source: { http: { url: 'https://x/u.img' } }, size: '1Gi' },
  });
}, 180_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(
    children.map((c) =>
      c.exitCode === null && c.signalCode === null
        ? new Promise((r) => c.once('exit', r))
        : undefined,
    ),
  );
  rest?.close();
  await cp?.stop();
});

describe('controllers under stress', () => {
  it('report KubeVirtNotInstalled, then KubeVirtNotDeployed with only the CRDs, without crashing, and resume by themselves once KubeVirt is deployed', async () => {
    const r = startReplica('solo', {
      VMPLANE_SCOPE_NAMESPACES: 'engine',
      VMPLANE_LEADER_ELECT: 'false',
    });
    solo = r;
    await rest.create(vm('engine', 'early'));
    const cond = await waitUntil(
      'EngineAvailable=False',
      async () =>
        (await ourVms('engine'))[0]?.status?.conditions?.find(
          (c) => c.type === 'EngineAvailable' && c.status === 'False',
        ),
      60_000,
      200,
    );
    expect(cond.reason).toBe('KubeVirtNotInstalled');
    expect(r.child.exitCode).toBeNull();
    await installEngineCrds(kubeConfigFrom(kubeconfig));
    // The real CRDs alone run nothing: the engine is judged by its KubeVirt CR.
    const notDeployed = await waitUntil(
      'EngineAvailable=False, KubeVirtNotDeployed',
      async () =>
        (await ourVms('engine'))[0]?.status?.conditions?.find(
          (c) => c.type === 'EngineAvailable' && c.reason === 'KubeVirtNotDeployed',
        ),
      60_000,
      200,
    );
    expect((notDeployed as { message?: string }).message).toContain('no KubeVirt CR');
    expect(await kvVms('engine')).toEqual([]);
    await deployKubeVirt(kubeConfigFrom(kubeconfig));
    await waitUntil(
      'the KubeVirt VM after KubeVirt appears',
      async () => (await kvVms('engine')).length === 1 || undefined,
      60_000,
      200,
    );
    await waitUntil(
      'EngineAvailable=True',
      async () =>
        (await ourVms('engine'))[0]?.status?.conditions?.find(
          (c) => c.type === 'EngineAvailable' && c.status === 'True',
        ),
      30_000,
      200,
    );
  }, 120_000);

  it('recover from an API server restart and keep reconciling new VMs', async () => {
    await cp.restartApiServer();
    await rest.create(vm('engine', 'after-restart'));
    await waitUntil(
      'the VM created after the restart',
      async () =>
        (await kvVms('engine')).some((v) => v.metadata.name === 'after-restart') || undefined,
      60_000,
      200,
    );
    if (solo) await kill(solo, 'SIGTERM');
  }, 120_000);

  it('converge every one of 200 VMs after being killed in the middle, with no duplicate or orphan', async () => {
    for (let i = 0; i < 200; i++)
      await rest.create(vm('stress', `vm-${String(i).padStart(3, '0')}`));
    const first = startReplica('stress-1', {
      VMPLANE_SCOPE_NAMESPACES: 'stress',
      VMPLANE_LEADER_ELECT: 'false',
    });
    const partial = await waitUntil(
      'some but not all VMs handed to KubeVirt',
      async () => {
        const n = (await kvVms('stress')).length;
        return n >= 20 ? n : undefined;
      },
      60_000,
      50,
    );
    await kill(first);
    const atKill = (await kvVms('stress')).length;
    console.log(
      `killed the controller with ${atKill} of 200 KubeVirt VMs created (first seen: ${partial})`,
    );
    expect(atKill).toBeLessThan(200);
    const second = startReplica('stress-2', {
      VMPLANE_SCOPE_NAMESPACES: 'stress',
      VMPLANE_LEADER_ELECT: 'false',
    });
    try {
      await waitUntil(
        'all 200 converged',
        async () => {
          const ours = await ourVms('stress');
          const ready = ours.filter((v) =>
            v.status?.conditions?.some((c) => c.type === 'EngineAvailable' && c.status === 'True'),
          );
          return ready.length === 200 || undefined;
        },
        120_000,
        500,
      );
    } catch (e) {
      // Say why: the replica's warnings and errors (failed reconciles, failed watches).
      console.log(
        second.logs
          .filter((l) => /"level":(40|50|60)/.test(l))
          .slice(-30)
          .join('\n'),
      );
      throw e;
    }
    const ours = await ourVms('stress');
    const engine = await kvVms('stress');
    expect(engine.map((v) => v.metadata.name).sort()).toEqual(
      ours.map((v) => v.metadata.name).sort(),
    );
    const uids = new Set(ours.map((v) => v.metadata.uid));
    // Every engine object is owned by exactly one live vmplane VM: nothing orphaned, nothing twice.
    for (const e of engine) {
      expect(e.metadata.ownerReferences).toHaveLength(1);
      expect(uids.has(e.metadata.ownerReferences?.[0]?.uid ?? '')).toBe(true);
    }
  }, 240_000);

  it('with two replicas, only the leader reconciles; killing it hands over within the lease time', async () => {
    const a = startReplica('replica-a', { VMPLANE_SCOPE_NAMESPACES: 'ha' });
    const holder = async (): Promise<string | undefined> =>
      (
        await getLive<{ spec: { holderIdentity?: string } }>(
          rest,
          '/apis/coordination.k8s.io/v1/namespaces/vmplane-system/leases/vmplane-controllers',
        )
      )?.spec.holderIdentity || undefined;
    await waitUntil(
      'replica-a to lead',
      async () => (await holder()) === 'replica-a' || undefined,
      60_000,
      200,
    );
    const b = startReplica('replica-b', { VMPLANE_SCOPE_NAMESPACES: 'ha' });
    await waitUntil(
      'replica-b metrics',
      async () => (await reconciles(b).catch(() => undefined)) !== undefined || undefined,
      60_000,
      200,
    );
    await rest.create(vm('ha', 'first'));
    await waitUntil(
      'first reconciled',
      async () => (await kvVms('ha')).length === 1 || undefined,
      30_000,
      200,
    );
    expect(await reconciles(a)).toBeGreaterThan(0);
    expect(await reconciles(b)).toBe(0); // the follower watches but does not reconcile
    expect(await holder()).toBe('replica-a');

    const killedAt = Date.now();
    await kill(a);
    await waitUntil(
      'replica-b to take over',
      async () => (await holder()) === 'replica-b' || undefined,
      30_000,
      100,
    );
    const handover = Date.now() - killedAt;
    console.log(
      `leader killed; replica-b took over after ${handover} ms (lease 4000 ms, retry 500 ms)`,
    );
    expect(handover).toBeLessThan(4000 + 2 * 500 + 1000);
    await rest.create(vm('ha', 'second'));
    await waitUntil(
      'second reconciled by the new leader',
      async () => (await kvVms('ha')).length === 2 || undefined,
      30_000,
      200,
    );
    expect(await reconciles(b)).toBeGreaterThan(0);
  }, 180_000);
  it("run the policy audit on the leader, reading the controllers' own informers", async () => {
    await rest.create({
      apiVersion: V,
      kind: 'VirtualMachinePolicy',
      metadata: { name: 'owners' },
      spec: {
        match: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'audited' } } },
        validationActions: ['Audit'],
        rules: { requiredLabels: [{ key: 'owner' }] },
      },
    });
    await rest.create(vm('audited', 'nameless'));
    startReplica('auditor', {
      VMPLANE_SCOPE_NAMESPACES: 'audited',
      VMPLANE_LEADER_ELECT: 'false',
      VMPLANE_AUDIT: 'true',
    });
    const result = await waitUntil(
      'the PolicyReport',
      async () => {
        const report = await getLive<{
          results: {
            policy: string;
            rule: string;
            result: string;
            resources: { name: string }[];
          }[];
        }>(
          rest,
          '/apis/wgpolicyk8s.io/v1alpha2/namespaces/audited/policyreports/vmplane-vm-policies',
        );
        return report?.results.find(
          (x) => x.policy === 'owners' && x.resources[0]?.name === 'nameless',
        );
      },
      60_000,
      500,
    );
    expect(result).toMatchObject({ rule: 'requiredLabels', result: 'fail' });
  }, 120_000);

  it('a leader cut off by a silent link stops reconciling before another replica takes over', async () => {
    // Whatever earlier tests left leading goes; the lease is then free after its 4 s.
    await Promise.all(
      children
        .filter((c) => c.exitCode === null && c.signalCode === null)
        .map((c) => kill({ child: c } as Replica)),
    );
    await rest.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cut' } });
    const server = new URL(kubeConfigFrom(kubeconfig).getCurrentCluster()?.server ?? '');
    const proxy = new BlackholeProxy('127.0.0.1', Number(server.port));
    const proxyPort = await proxy.start();
    const proxied = `${kubeconfig}.proxied`;
    writeFileSync(
      proxied,
      readFileSync(kubeconfig, 'utf8').replace(server.origin, `https://127.0.0.1:${proxyPort}`),
    );
    try {
      const a = startReplica('cut-a', { KUBECONFIG: proxied, VMPLANE_SCOPE_NAMESPACES: 'cut' });
      const leads = async (r: Replica): Promise<boolean> => {
        if (r.child.exitCode !== null || r.child.signalCode !== null) return false;
        const text = await fetch(`http://127.0.0.1:${r.metricsPort}/metrics`, { headers: scraper })
          .then((x) => x.text())
          .catch(() => '');
        return /^vmplane_controller_leader 1$/m.test(text);
      };
      await waitUntil('cut-a to lead', async () => (await leads(a)) || undefined, 60_000, 200);
      const b = startReplica('cut-b', { VMPLANE_SCOPE_NAMESPACES: 'cut' });
      await waitUntil(
        'cut-b metrics',
        async () => (await reconciles(b).catch(() => undefined)) !== undefined || undefined,
        60_000,
        200,
      );
      expect(await leads(b)).toBe(false);

      // The link from cut-a to the API server goes silent: nothing passes, nothing closes.
      proxy.blackholed = true;
      const cutAt = Date.now();
      let aStopped: number | undefined;
      let bStarted: number | undefined;
      let both = 0;
      while (bStarted === undefined || Date.now() - bStarted < 2_000) {
        if (Date.now() - cutAt > 30_000) break;
        const [la, lb] = await Promise.all([leads(a), leads(b)]);
        const t = Date.now() - cutAt;
        if (la && lb) both++;
        if (!la && aStopped === undefined) aStopped = t;
        if (lb && bStarted === undefined) bStarted = t;
        await new Promise((r) => setTimeout(r, 50));
      }
      console.log(
        `link to the leader blackholed: cut-a stopped leading after ${aStopped} ms, cut-b started after ${bStarted} ms (lease 4000 ms, renew deadline 2640 ms); samples with two leaders: ${both}`,
      );
      expect(both).toBe(0);
      expect(aStopped).toBeDefined();
      expect(bStarted).toBeDefined();
      expect(aStopped as number).toBeLessThan(bStarted as number);
      // The new leader does the work.
      await rest.create(vm('cut', 'after-the-cut'));
      await waitUntil(
        'reconciled by cut-b',
        async () => (await kvVms('cut')).length === 1 || undefined,
        30_000,
        200,
      );
    } finally {
      await proxy.stop();
    }
  }, 180_000);
});
