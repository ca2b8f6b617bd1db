// Quiet when idle, counted at the API server: the whole of vmplane (webhooks, the policy audit,
// the controllers with leader election) runs against a private kube-apiserver with the examples,
// ten more policies and a namespace of 400 VMs whose audit results do not fit one PolicyReport.
// Once settled, two minutes pass: the API server's audit log of writes must show none but lease
// renewals.
import { readdirSync, readFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { ensureBinaries, type Binaries } from '../../harness/src/controlplane/binaries.ts';
import { ControlPlane } from '../../harness/src/controlplane/controlplane.ts';
import { PolicyAuditor } from '../../controllers/src/policy/audit.ts';
import { startControllers, type RunningControllers } from '../../controllers/src/main.ts';
import { installCrds, kubeConfigFrom, waitUntil } from '../../kube/src/client.ts';
import { KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import { startWebhooks, type RunningWebhooks } from '../../webhooks/src/main.ts';
import { deployKubeVirt, installEngineCrds } from '../support/kubevirt.ts';

const V = API_VERSION;
const BIG_VMS = 400;
const IDLE_MS = 120_000;
let cp: ControlPlane;
let bins: Binaries;
let kubeconfig = '';
let auditLog = '';
let rest: KubeRest;
let webhooks: RunningWebhooks;
let auditor: PolicyAuditor;
let controllers: RunningControllers;

/**
 * Writes the API server has recorded so far (its audit log), by resource (subresource after a
 * slash). The API server's own writes (system:apiserver: the kubernetes Service's endpoints) are
 * not vmplane's and are left out.
 */
async function writes(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of readFileSync(auditLog, 'utf8').split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as {
      stage: string;
      verb: string;
      user: { username: string };
      objectRef?: { resource?: string; subresource?: string };
    };
    if (e.stage !== 'ResponseComplete' || e.user.username === 'system:apiserver') continue;
    const r = e.objectRef;
    const key = `${r?.resource ?? '?'}${r?.subresource ? `/${r.subresource}` : ''}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

function diff(a: Map<string, number>, b: Map<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const [k, v] of b) if (v - (a.get(k) ?? 0) > 0) d[k] = v - (a.get(k) ?? 0);
  return d;
}

const kubectl = (args: string[]): Promise<{ code: number; stderr: string }> =>
  new Promise((resolve) =>
    execFile(
      bins.kubectl,
      ['--kubeconfig', kubeconfig, ...args],
      { cwd: REPO_ROOT },
      (e, _o, stderr) => resolve({ code: e ? 1 : 0, stderr }),
    ),
  );

/** Ten policies of the kinds teams write: built-in rules and CEL, Deny, Warn and Audit. */
function tenPolicies(): KubeObjectLike[] {
  const cel = (expression: string, message: string): object => ({ expression, message });
  const specs: object[] = [
    { validationActions: ['Audit'], rules: { maxCPUs: 8 } },
    { validationActions: ['Audit'], rules: { maxMemory: '64Gi' } },
    { validationActions: ['Warn'], rules: { requiredLabels: [{ key: 'app' }] } },
    {
      validationActions: ['Audit'],
      validations: [
        cel(
          "has(object.metadata.labels) && 'app' in object.metadata.labels",
          'label app is required',
        ),
      ],
    },
    {
      validationActions: ['Audit'],
      validations: [cel("object.spec.powerState != 'Suspended'", 'no suspended VMs')],
    },
    {
      validationActions: ['Audit'],
      validations: [cel('object.metadata.name.size() <= 40', 'names up to 40 characters')],
    },
    {
      validationActions: ['Warn'],
      validations: [
        cel("!has(object.spec.zone) || object.spec.zone.startsWith('zone-')", 'zones are zone-*'),
      ],
    },
    {
      validationActions: ['Audit'],
      validations: [cel("object.spec.className != 'gpu-large'", 'no GPUs here')],
    },
    {
      validationActions: ['Audit'],
      validations: [
        cel('!has(object.spec.disks) || object.spec.disks.size() <= 4', 'at most 4 disks'),
      ],
    },
    {
      validationActions: ['Audit'],
      rules: { maxCPUs: 16 },
      validations: [cel("object.metadata.namespace != 'kube-system'", 'not in kube-system')],
    },
  ];
  return specs.map((spec, i) => ({
    apiVersion: V,
    kind: 'VirtualMachinePolicy',
    metadata: { name: `idle-policy-${i}` },
    spec,
  }));
}

beforeAll(async () => {
  bins = await ensureBinaries();
  cp = new ControlPlane({
    binaries: bins,
    tempPrefix: `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'x'}-idle-`,
    auditWrites: true,
  });
  const ep = await cp.start();
  kubeconfig = ep.kubeconfigPath;
  auditLog = ep.auditLogPath ?? '';
  const kc = kubeConfigFrom(kubeconfig);
  await installCrds(kc, join(REPO_ROOT, 'charts/vmplane/crds'));
  await installEngineCrds(kc);
  await deployKubeVirt(kc);
  rest = new KubeRest(kc);
  const silent = pino({ level: 'silent' });
  webhooks = await startWebhooks({
    kc,
    namespace: 'vmplane-system',
    register: { endpoint: 'self' },
    logger: silent,
  });
  const cache = webhooks.cache;
  auditor = new PolicyAuditor({
    kc,
    lookups: cache,
    onChange: (h) => cache.onChange(['policies', 'exceptions', 'vms', 'classes'], h),
    // Forced scans (exceptions expire) every 30 s: four of them fall in the idle window.
    intervalMs: 30_000,
  });
  auditor.start();
  controllers = await startControllers({
    kc,
    logger: silent,
    leaderElection: { namespace: 'vmplane-system' },
  });
  for (const f of readdirSync(join(REPO_ROOT, 'examples'))
    .filter((n) => n.endsWith('.yaml'))
    .sort()) {
    const r = await kubectl(['apply', '-f', join('examples', f)]);
    expect(r.stderr, f).toBe('');
  }
  for (const p of tenPolicies()) await rest.create(p);
  await rest.create({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'big' },
  } as KubeObjectLike);
  for (let i = 0; i < BIG_VMS; i += 25)
    await Promise.all(
      Array.from({ length: 25 }, (_, k) =>
        rest.create({
          apiVersion: V,
          kind: 'VirtualMachine',
          metadata: { name: `vm-${String(i + k).padStart(3, '0')}`, namespace: 'big' },
          spec: {
            className: 'best-effort-small',
            image: { kind: 'ClusterVirtualMachineImage', name: 'ubuntu-24.04' },
            powerState: 'PoweredOff',
          },
        } as KubeObjectLike),
      ),
    );
}, 240_000);

afterAll(async () => {
  await controllers?.stop();
  await auditor?.stop();
  await webhooks?.stop();
  rest?.close();
  await cp?.stop();
});

describe('an idle cluster', () => {
  it('reports a namespace past the PolicyReport size limit in several reports', async () => {
    type Report = { metadata: { name: string }; results: unknown[] };
    const reports = await waitUntil(
      'the audit of namespace big',
      async () => {
        const { body } = await rest.request<{ items: Report[] }>(
          'GET',
          '/apis/wgpolicyk8s.io/v1alpha2/namespaces/big/policyreports',
        );
        const vms = new Set(
          body.items.flatMap((r) =>
            (r.results as { resources: { name: string }[] }[]).map((x) => x.resources[0]?.name),
          ),
        );
        return vms.size === BIG_VMS ? body.items : undefined;
      },
      120_000,
      1_000,
    );
    const total = reports.reduce((n, r) => n + r.results.length, 0);
    const largest = Math.max(...reports.map((r) => Buffer.byteLength(JSON.stringify(r))));
    console.log(
      `namespace big: ${BIG_VMS} VMs, ${total} results in ${reports.length} PolicyReports, the largest ${largest} bytes`,
    );
    expect(total).toBeGreaterThan(4_000); // one report would pass etcd's limit
    expect(reports.length).toBeGreaterThan(1);
    expect(largest).toBeLessThan(1.5 * 1024 * 1024);
  }, 180_000);

  it('writes nothing but lease renewals for two minutes once settled', async () => {
    // Settled: ten quiet seconds in a row (not counting leases).
    let last = await writes();
    let noisy: Record<string, number> = {};
    const settleStart = Date.now();
    await waitUntil(
      'ten quiet seconds',
      async () => {
        await new Promise((r) => setTimeout(r, 10_000));
        const now = await writes();
        const d = diff(last, now);
        delete d.leases;
        last = now;
        noisy = d;
        return Object.keys(d).length === 0;
      },
      120_000,
      0,
    ).catch((e: Error) => {
      throw new Error(`${e.message}: last 10 s wrote ${JSON.stringify(noisy)}`);
    });
    const settledAfter = Date.now() - settleStart;
    const before = await writes();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const d = diff(before, await writes());
    const leases = d.leases ?? 0;
    delete d.leases;
    console.log(
      `settled after ${Math.round(settledAfter / 1000)} s; in ${IDLE_MS / 1000} s idle: ${leases} lease writes, other writes ${JSON.stringify(d)}; audit scans so far ${auditor.scans}`,
    );
    expect(d).toEqual({});
    expect(leases).toBeGreaterThan(0); // the controllers' leader really renewed meanwhile
  }, 400_000);
});
