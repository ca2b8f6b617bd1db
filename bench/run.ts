// `npm run bench`: vmplane's performance, each figure beside its baseline from the same run (the
// machines are noisy; ratios matter more than absolute times). Writes bench/results/results.json
// and results.md and prints the table. Sizes: BENCH_E2E_VMS (1000), BENCH_VMS (controllers:
// 1000,5000), BENCH_RSS_VMS (VMs cached when memory is read: 10000), BENCH_UI_VMS (the plugin's
// VM list: 5000). BENCH_ONLY=webhook,startup,e2e,controllers,plugin,sandbox runs some sections
// only (sandbox: npm start to the first VM Running under the local engine, which needs QEMU).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import autocannon from 'autocannon';
import { REPO_ROOT } from '../api/src/paths.ts';
import { ensureBinaries } from '../harness/src/controlplane/binaries.ts';
import { ensureKubernetesCel } from '../policy/src/kcel-build.ts';
import { CEL_DIR_ENV } from '../policy/src/index.ts';
import { ControlPlane, freePort } from '../harness/src/controlplane/controlplane.ts';
import { installCrds, kubeConfigFrom } from '../kube/src/client.ts';
import { ApiError, KubeRest, type KubeObjectLike } from '../kube/src/rest.ts';
import { ResilientInformer } from '../kube/src/informer.ts';
import { webhookConfigurations } from '../webhooks/src/registration.ts';
import { deleteFleet } from '../test/support/fleet.ts';
import { pluginBench } from './plugin.ts';
import { sandboxBench } from './sandbox.ts';
import { benchVm, OBJECT_RULES } from './world.ts';
import { deployKubeVirt, installEngineCrds } from '../test/support/kubevirt.ts';

const RESULTS = join(REPO_ROOT, 'bench/results');
const children: ChildProcess[] = [];
let controlPlane: ControlPlane | undefined;
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
// Ctrl-C or SIGTERM: stop the control plane and remove its files before leaving.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    children.forEach((c) => c.kill('SIGKILL'));
    void (controlPlane?.stop() ?? Promise.resolve()).then(() => process.exit(130));
  });
}

interface Stats {
  p50: number;
  p95: number;
  p99: number;
  rps: number;
  errors: number;
  n: number;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function stats(times: number[], seconds: number, errors: number): Stats {
  const s = [...times].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 100) / 100;
  return {
    p50: r(percentile(s, 50)),
    p95: r(percentile(s, 95)),
    p99: r(percentile(s, 99)),
    rps: Math.round(times.length / seconds),
    errors,
    n: times.length,
  };
}

function startChild(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    child.stdout?.on('data', (b: Buffer) => {
      const m = /READY (\d+)/.exec(b.toString());
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.on('exit', (c) => reject(new Error(`${args.join(' ')} exited ${c}`)));
  });
}

function review(uid: string): string {
  const vm = benchVm('web');
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: 'vmplane.io', version: 'v1alpha1', kind: 'VirtualMachine' },
      resource: { group: 'vmplane.io', version: 'v1alpha1', resource: 'virtualmachines' },
      operation: 'CREATE',
      namespace: 'bench',
      name: 'web',
      object: vm,
      userInfo: { username: 'bench' },
    },
  });
}

async function load(
  port: number,
  connections: number,
  seconds: number,
  overallRate?: number,
): Promise<Stats> {
  const times: number[] = [];
  let errors = 0;
  const instance = autocannon({
    url: `https://127.0.0.1:${port}/validate`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: review('bench-uid'),
    connections,
    duration: seconds,
    ...(overallRate ? { overallRate } : {}),
    tlsOptions: { rejectUnauthorized: false },
  } as never) as unknown as Promise<unknown> & {
    on(ev: 'response', cb: (c: unknown, status: number, bytes: number, ms: number) => void): void;
  };
  instance.on('response', (_c: unknown, status: number, _b: number, ms: number) => {
    if (status === 200) times.push(ms);
    else errors++;
  });
  const result = (await instance) as unknown as { errors: number; timeouts: number };
  return stats(times, seconds, errors + result.errors + result.timeouts);
}

async function webhookAlone(): Promise<Record<string, unknown>> {
  const rows: Record<string, unknown>[] = [];
  const configs: [string, string[]][] = [
    ['no-op floor', ['noop']],
    ['vmplane, 0 policies', ['vmplane', '0']],
    ['vmplane, 10 policies', ['vmplane', '10']],
    ['vmplane, 50 policies', ['vmplane', '50']],
  ];
  const fixed: Record<string, Stats> = {};
  for (const [name, args] of configs) {
    const { child, port } = await startChild([
      '--import',
      'tsx',
      join(REPO_ROOT, 'bench/servers.ts'),
      ...args,
    ]);
    await load(port, 16, 2); // warm-up (JIT, TLS sessions)
    for (const c of [1, 16, 64]) {
      const cpu0 = cpuMs(child.pid ?? 0);
      const s = await load(port, c, 4);
      // The server's CPU time per answered request (user + system, whole process).
      const cpuMsPerRequest =
        Math.round(((cpuMs(child.pid ?? 0) - cpu0) / Math.max(1, s.n)) * 1000) / 1000;
      rows.push({ server: name, concurrency: c, ...s, cpuMsPerRequest });
      console.log(
        `webhook  ${name.padEnd(22)} c=${String(c).padEnd(3)} p50 ${s.p50} ms  p95 ${s.p95} ms  p99 ${s.p99} ms  ${s.rps} req/s  errors ${s.errors}  CPU ${cpuMsPerRequest} ms/request`,
      );
    }
    if (name === 'no-op floor' || name === 'vmplane, 50 policies') {
      fixed[name] = await load(port, 16, 5, 1000);
      console.log(`webhook  ${name.padEnd(22)} at 1000 req/s: p99 ${fixed[name]?.p99} ms`);
    }
    child.kill('SIGKILL');
  }
  const ratio =
    (fixed['vmplane, 50 policies']?.p99 ?? 0) / Math.max(0.001, fixed['no-op floor']?.p99 ?? 0);
  return { rows, at1000rps: fixed, p99RatioAt1000rps: Math.round(ratio * 100) / 100 };
}

function getStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, agent: false, timeout: 500 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function startWebhookProcess(
  kubeconfig: string,
  namespace: string,
): Promise<{ child: ChildProcess; port: number; ms: number }> {
  const port = await freePort();
  const t0 = performance.now();
  // BENCH_PROFILE=1: CPU profiles of the webhook processes too (written as each one exits).
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', RESULTS] : [];
  const child = spawn(
    process.execPath,
    [...profile, join(REPO_ROOT, 'dist/vmplane.mjs'), 'webhooks'],
    {
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        VMPLANE_NAMESPACE: namespace,
        VMPLANE_PORT: String(port),
        VMPLANE_LISTEN_HOST: '127.0.0.1',
        VMPLANE_CERT_IPS: '127.0.0.1',
      },
      stdio: 'ignore',
    },
  );
  children.push(child);
  while ((await getStatus(`https://127.0.0.1:${port}/readyz`)) !== 200) {
    if (child.exitCode !== null) throw new Error('webhook process exited');
    await new Promise((r) => setTimeout(r, 5));
  }
  return { child, port, ms: Math.round(performance.now() - t0) };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

async function startup(kubeconfig: string, rest: KubeRest): Promise<Record<string, number>> {
  const fresh: number[] = [];
  const existing: number[] = [];
  for (let i = 0; i < 3; i++) {
    await rest
      .request('DELETE', '/api/v1/namespaces/vmplane-start/secrets/vmplane-webhook-tls')
      .catch(() => undefined);
    const a = await startWebhookProcess(kubeconfig, 'vmplane-start');
    fresh.push(a.ms);
    await stop(a.child);
    const b = await startWebhookProcess(kubeconfig, 'vmplane-start');
    existing.push(b.ms);
    await stop(b.child);
  }
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[1] ?? 0;
  const r = { freshCertificateMs: median(fresh), existingCertificateMs: median(existing) };
  console.log(
    `start-up to /readyz: fresh certificate ${r.freshCertificateMs} ms, existing certificate ${r.existingCertificateMs} ms (median of 3)`,
  );
  return r;
}

async function timed(
  n: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
): Promise<{ times: number[]; seconds: number; errors: number }> {
  const times: number[] = [];
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        try {
          await op(i);
          times.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  return { times, seconds: (performance.now() - t0) / 1000, errors };
}

async function endToEnd(
  rest: KubeRest,
  n: number,
  label: string,
): Promise<{ create: Stats; update: Stats }> {
  const ns = `e2e-${label}`;
  await rest.create({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: ns, labels: { tier: 'production' } },
  });
  const c = await timed(n, 16, (i) => rest.create(benchVm(`vm-${i}`, ns) as never));
  const u = await timed(n, 16, (i) =>
    rest.request('PATCH', `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines/vm-${i}`, {
      body: { spec: { powerState: 'PoweredOff' } },
      contentType: 'application/merge-patch+json',
    }),
  );
  const r = {
    create: stats(c.times, c.seconds, c.errors),
    update: stats(u.times, u.seconds, u.errors),
  };
  console.log(
    `e2e      ${label.padEnd(10)} create p50 ${r.create.p50} p99 ${r.create.p99} ms ${r.create.rps}/s errors ${r.create.errors} | update p50 ${r.update.p50} p99 ${r.update.p99} ms ${r.update.rps}/s errors ${r.update.errors}`,
  );
  return r;
}

/**
 * Starts webhooks in their own process and registers them with vmplane's configurations; the
 * returned function undoes both. `noop`: the bench's no-op server (answers "allowed" without
 * looking) behind the same registrations, the floor any webhook pays.
 */
async function registerWebhooks(
  kubeconfig: string,
  rest: KubeRest,
  server: 'vmplane' | 'noop' = 'vmplane',
): Promise<{ pid: number; unregister: () => Promise<void> }> {
  let wh: { child: ChildProcess; port: number };
  let bundle: string;
  if (server === 'noop') {
    const caFile = join(RESULTS, 'noop-ca.pem');
    wh = await startChild(['--import', 'tsx', join(REPO_ROOT, 'bench/servers.ts'), 'noop'], {
      BENCH_CA_FILE: caFile,
    });
    bundle = readFileSync(caFile, 'utf8');
    rmSync(caFile);
  } else {
    wh = await startWebhookProcess(kubeconfig, 'vmplane-bench');
    const secret = await rest.request<{ data: Record<string, string> }>(
      'GET',
      '/api/v1/namespaces/vmplane-bench/secrets/vmplane-webhook-tls',
    );
    bundle = Buffer.from(secret.body.data['ca-bundle.crt'] ?? '', 'base64').toString();
  }
  for (const cfg of webhookConfigurations({
    endpoint: { url: `https://127.0.0.1:${wh.port}` },
    caBundlePem: bundle,
    ownNamespace: 'vmplane-bench',
  }))
    await rest.apply(cfg as never);
  await new Promise((r) => setTimeout(r, 2000)); // the API server loads webhook configurations asynchronously
  const unregister = async (): Promise<void> => {
    // Unregister before the webhook goes, or every later write would be refused.
    for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
      await rest.request(
        'DELETE',
        `/apis/admissionregistration.k8s.io/v1/${kind}/${kind.startsWith('mutating') ? 'vmplane-mutating' : 'vmplane-validating'}`,
      );
    }
    await stop(wh.child);
  };
  return { pid: wh.child.pid ?? 0, unregister };
}

/** CPU time (user + system) a process has used so far, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .replace(/^.*\) /, '')
    .split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

async function throughApiServer(
  kubeconfig: string,
  rest: KubeRest,
  n: number,
): Promise<Record<string, unknown>> {
  const none = await endToEnd(rest, n, 'none');
  // (c) the same object rules as a ValidatingAdmissionPolicy, evaluated inside the API server.
  await rest.create({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: 'bench-vap' },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ['vmplane.io'],
            apiVersions: ['v1alpha1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['virtualmachines'],
          },
        ],
      },
      validations: OBJECT_RULES.map((r) => ({ expression: r.expression, message: r.name })),
    },
  } as never);
  await rest.create({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: 'bench-vap' },
    spec: { policyName: 'bench-vap', validationActions: ['Deny'] },
  } as never);
  await new Promise((r) => setTimeout(r, 3000)); // the API server loads policies asynchronously
  const vap = await endToEnd(rest, n, 'vap');
  await rest.request(
    'DELETE',
    '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/bench-vap',
  );
  await rest.request(
    'DELETE',
    '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/bench-vap',
  );

  // (a) vmplane's webhooks in their own process, with the same rules as one VirtualMachinePolicy.
  await rest.create({
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachinePolicy',
    metadata: { name: 'bench-rules' },
    spec: {
      validationActions: ['Deny'],
      validations: OBJECT_RULES.map((r) => ({ name: r.name, expression: r.expression })),
    },
  });
  const wh = await registerWebhooks(kubeconfig, rest);
  // The webhook process's CPU per write (both calls), measured around a run.
  const perWrite = async <T>(pid: number, run: () => Promise<T>): Promise<[T, number]> => {
    const before = cpuMs(pid);
    const r = await run();
    return [r, Math.round(((cpuMs(pid) - before) / (2 * n)) * 100) / 100];
  };
  const [vmplane, vmplaneCpuMsPerWrite] = await perWrite(wh.pid, () =>
    endToEnd(rest, n, 'vmplane'),
  );
  await wh.unregister();
  await rest.request('DELETE', '/apis/vmplane.io/v1alpha1/virtualmachinepolicies/bench-rules');
  // (d) a no-op webhook behind the same two registrations: what any webhook costs here.
  const nw = await registerWebhooks(kubeconfig, rest, 'noop');
  const [noop, noopCpuMsPerWrite] = await perWrite(nw.pid, () => endToEnd(rest, n, 'noop'));
  await nw.unregister();
  console.log(
    `e2e      webhook process CPU per write (mutate + validate): vmplane ${vmplaneCpuMsPerWrite} ms, no-op ${noopCpuMsPerWrite} ms`,
  );
  const ratio = (a: number, b: number): number => Math.round((a / Math.max(0.001, b)) * 100) / 100;
  return {
    requests: n,
    concurrency: 16,
    none,
    vap,
    vmplane,
    noop,
    webhookCpuMsPerWrite: { vmplane: vmplaneCpuMsPerWrite, noop: noopCpuMsPerWrite },
    ratios: {
      createP99NoopVsNone: ratio(noop.create.p99, none.create.p99),
      createP99VsNoop: ratio(vmplane.create.p99, noop.create.p99),
      updateP99VsNoop: ratio(vmplane.update.p99, noop.update.p99),
      createP99VsNone: ratio(vmplane.create.p99, none.create.p99),
      createP99VsVap: ratio(vmplane.create.p99, vap.create.p99),
      updateP99VsNone: ratio(vmplane.update.p99, none.update.p99),
      updateP99VsVap: ratio(vmplane.update.p99, vap.update.p99),
    },
  };
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

type WithConditions = KubernetesObject & {
  status?: { conditions?: { type: string; status: string }[] };
};

/** Resolves once n VMs in the namespace say EngineAvailable and n KubeVirt VMs exist, told by watches (no relisting under load). */
async function watchConvergence(
  kubeconfig: string,
  ns: string,
  n: number,
): Promise<{ converged: Promise<void>; stop: () => Promise<void> }> {
  const kc = kubeConfigFrom(kubeconfig);
  const vms = new ResilientInformer<WithConditions>(kc, {
    path: `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines`,
  });
  const engine = new ResilientInformer<KubernetesObject>(kc, {
    path: `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`,
  });
  const ready = new Set<string>();
  const exist = new Set<string>();
  let done: () => void = () => undefined;
  const converged = new Promise<void>((r) => (done = r));
  const check = (): void => {
    if (ready.size === n && exist.size === n) done();
  };
  const onVm = (o: WithConditions): void => {
    const name = o.metadata?.name ?? '';
    if (o.status?.conditions?.some((c) => c.type === 'EngineAvailable' && c.status === 'True'))
      ready.add(name);
    else ready.delete(name);
    check();
  };
  vms.on('add', onVm);
  vms.on('update', onVm);
  vms.on('delete', (o) => ready.delete(o.metadata?.name ?? ''));
  engine.on('add', (o) => {
    exist.add(o.metadata?.name ?? '');
    check();
  });
  engine.on('delete', (o) => exist.delete(o.metadata?.name ?? ''));
  await Promise.all([vms.start(), engine.start()]);
  return { converged, stop: () => Promise.all([vms.stop(), engine.stop()]).then(() => undefined) };
}

/**
 * Controllers. For each size N, three figures from the same API server:
 * - floor: a plain client creates N VMs (no webhooks), the baseline;
 * - the controllers (production bundle, own process) converge N VMs created through vmplane's
 *   webhooks, as in a cluster where vmplane is installed: time from process start until every
 *   KubeVirt VM exists and every VM's status says the engine has it;
 * - the same writes by a plain client: the N KubeVirt VMs and N statuses the controllers wrote,
 *   written again to the floor's VMs (what converging costs the API server, with no controller).
 * RSS is read with all VMs of the run (and more, up to rssVms) in the informer caches.
 */
async function controllers(
  kubeconfig: string,
  rest: KubeRest,
  sizes: number[],
  rssVms: number,
): Promise<Record<string, unknown>> {
  await installEngineCrds(kubeConfigFrom(kubeconfig));
  await deployKubeVirt(kubeConfigFrom(kubeconfig));
  const rows: Record<string, number>[] = [];
  let last: ChildProcess | undefined;
  let created = 0;
  for (const n of sizes) {
    const ns = `ctl-${n}`;
    const floorNs = `ctl-${n}-floor`;
    for (const name of [ns, floorNs])
      await rest.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    const floor = await timed(n, 16, (i) => rest.create(benchVm(`vm-${i}`, floorNs) as never));
    const { unregister } = await registerWebhooks(kubeconfig, rest);
    const viaWebhooks = await timed(n, 16, (i) => rest.create(benchVm(`vm-${i}`, ns) as never));
    if (floor.errors || viaWebhooks.errors)
      throw new Error(`${floor.errors + viaWebhooks.errors} of ${2 * n} VM creates failed`);
    created += 2 * n;
    last?.kill('SIGKILL');
    const watch = await watchConvergence(kubeconfig, ns, n);
    const t0 = performance.now();
    // BENCH_PROFILE=1: a CPU profile of the controllers (bench/results/*.cpuprofile, written at exit).
    const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', RESULTS] : [];
    const child = spawn(
      process.execPath,
      [...profile, join(REPO_ROOT, 'dist/vmplane.mjs'), 'controllers'],
      {
        env: {
          ...process.env,
          KUBECONFIG: kubeconfig,
          VMPLANE_LEADER_ELECT: 'false',
          VMPLANE_SCOPE_NAMESPACES: ns,
          VMPLANE_AUDIT: 'false',
        },
        stdio: 'ignore',
      },
    );
    children.push(child);
    last = child;
    await watch.converged;
    const converge = (performance.now() - t0) / 1000;
    await watch.stop();
    await unregister();

    // The same writes by a plain client, to the floor's VMs.
    const kv = (
      await rest.request<{ items: KubeObjectLike[] }>(
        'GET',
        `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines`,
      )
    ).body.items;
    const ours = (
      await rest.request<{ items: { metadata: { name: string }; status?: unknown }[] }>(
        'GET',
        `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines`,
      )
    ).body.items;
    const writes = await timed(n, 16, async (i) => {
      const k = kv[i] as KubeObjectLike & { spec?: unknown };
      await rest.apply(
        {
          apiVersion: k.apiVersion,
          kind: k.kind,
          metadata: { name: k.metadata.name, namespace: floorNs, labels: k.metadata.labels ?? {} },
          spec: k.spec,
        } as never,
        { fieldManager: 'bench' },
      );
      const o = ours[i];
      await rest.request(
        'PATCH',
        `/apis/vmplane.io/v1alpha1/namespaces/${floorNs}/virtualmachines/${o?.metadata.name}/status`,
        { body: { status: o?.status }, contentType: 'application/merge-patch+json' },
      );
    });
    if (writes.errors) throw new Error(`${writes.errors} of ${n} plain-client writes failed`);
    const s1 = (x: number): number => Math.round(x * 10) / 10;
    const row = {
      vms: n,
      floorSeconds: s1(floor.seconds),
      viaWebhooksSeconds: s1(viaWebhooks.seconds),
      convergeSeconds: s1(converge),
      ratio: Math.round((converge / floor.seconds) * 100) / 100,
      sameWritesSeconds: s1(writes.seconds),
      ratioToSameWrites: Math.round((converge / writes.seconds) * 100) / 100,
      rssMb: rssMb(child.pid ?? 0),
    };
    rows.push(row);
    console.log(
      `controllers ${n} VMs: plain client creates ${row.floorSeconds} s (through webhooks ${row.viaWebhooksSeconds} s); converged in ${row.convergeSeconds} s (ratio ${row.ratio}); ` +
        `the same writes by a plain client ${row.sameWritesSeconds} s (ratio ${row.ratioToSameWrites}); RSS ${row.rssMb} MB`,
    );
  }
  // Memory with rssVms VMs in the caches: fill up to that many (outside the reconciled scope).
  const extra = Math.max(0, rssVms - created);
  if (extra > 0) {
    await rest.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ctl-cache' } });
    await timed(extra, 16, (i) => rest.create(benchVm(`vm-${i}`, 'ctl-cache') as never));
  }
  await new Promise((r) => setTimeout(r, 5000)); // let the watches deliver them
  const rss = last?.pid ? rssMb(last.pid) : 0;
  console.log(`controllers RSS with ${Math.max(rssVms, created)} VMs cached: ${rss} MB`);
  if (last) await stop(last); // SIGTERM: a profile is written as the process exits
  return { rows, rss: { vmsCached: Math.max(rssVms, created), rssMb: rss } };
}

function table(r: Record<string, any>): string {
  const lines: string[] = [];
  lines.push(
    `Machine: ${r.machine.cpu} (${r.machine.cores} cores), Node ${r.machine.node}, ${r.machine.date}`,
    '',
  );
  if (r.webhook) {
    lines.push(
      '| Webhook alone (HTTPS, keep-alive) | concurrency | p50 ms | p95 ms | p99 ms | req/s | server CPU ms/request |',
      '|---|---|---|---|---|---|---|',
    );
    for (const x of r.webhook.rows)
      lines.push(
        `| ${x.server} | ${x.concurrency} | ${x.p50} | ${x.p95} | ${x.p99} | ${x.rps} | ${x.cpuMsPerRequest} |`,
      );
    lines.push(
      '',
      `At 1,000 req/s (16 connections): no-op p99 ${r.webhook.at1000rps['no-op floor'].p99} ms, vmplane with 50 policies p99 ${r.webhook.at1000rps['vmplane, 50 policies'].p99} ms: ratio **${r.webhook.p99RatioAt1000rps}** (target at most 2).`,
      '',
    );
  }
  const e = r.endToEnd;
  if (e) {
    lines.push(
      `| Through kube-apiserver (${e.requests} VMs, concurrency ${e.concurrency}) | create p50 | create p99 | create/s | update p50 | update p99 | update/s |`,
      '|---|---|---|---|---|---|---|',
    );
    for (const [k, name] of [
      ['none', 'no webhooks'],
      ['vap', 'ValidatingAdmissionPolicy'],
      ['vmplane', 'vmplane webhooks'],
      ['noop', 'no-op webhooks, same registrations'],
    ] as const) {
      const x = e[k];
      lines.push(
        `| ${name} | ${x.create.p50} | ${x.create.p99} | ${x.create.rps} | ${x.update.p50} | ${x.update.p99} | ${x.update.rps} |`,
      );
    }
    lines.push(
      '',
      `p99 ratios: create vs none **${e.ratios.createP99VsNone}** (target ≤ 1.25), vs VAP **${e.ratios.createP99VsVap}** (target ≤ 1.1); update vs none **${e.ratios.updateP99VsNone}**, vs VAP **${e.ratios.updateP99VsVap}**. A no-op webhook's create p99 is ${e.ratios.createP99NoopVsNone}× none; vmplane vs no-op: create ${e.ratios.createP99VsNoop}×, update ${e.ratios.updateP99VsNoop}×. Webhook process CPU per write (both calls): vmplane ${e.webhookCpuMsPerWrite.vmplane} ms, no-op ${e.webhookCpuMsPerWrite.noop} ms.`,
      '',
    );
  }
  if (r.startup)
    lines.push(
      `Start-up to /readyz (production bundle, median of 3): fresh certificate ${r.startup.freshCertificateMs} ms, existing certificate ${r.startup.existingCertificateMs} ms (target < 1000 ms).`,
      '',
    );
  if (r.controllers) {
    lines.push(
      '| Controllers | floor: plain client creates them | created through the webhooks | converged | ratio to floor (target ≤ 1.5) | the same writes by a plain client | ratio to the same writes |',
      '|---|---|---|---|---|---|---|',
    );
    for (const x of r.controllers.rows) {
      lines.push(
        `| ${x.vms} VMs | ${x.floorSeconds} s | ${x.viaWebhooksSeconds} s | ${x.convergeSeconds} s | ${x.ratio} | ${x.sameWritesSeconds} s | ${x.ratioToSameWrites} |`,
      );
    }
    lines.push(
      '',
      `Controller RSS with ${r.controllers.rss.vmsCached} VMs cached: ${r.controllers.rss.rssMb} MB (target ≤ 200 MB with 10,000).`,
      '',
    );
  }
  const sb = r.sandbox;
  if (sb) {
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    lines.push(
      `| npm start (median of ${sb.runs}) | from the command |`,
      '|---|---|',
      `| floor: ready without the engine (--no-engine) | ${s(sb.floorReadyMs)} |`,
      `| with the engine: demo/tiny-1 Running | ${s(sb.vmRunningMs)} |`,
      `| ... of which after the examples were applied (hand-over, instance, QEMU, boot) | ${s(sb.vmAfterExamplesMs)} |`,
      `| with the engine: ready | ${s(sb.readyMs)} |`,
      '',
      `First use only: the tiny Linux image built into an empty cache (download, unpack, initramfs) in ${s(sb.imageBuildMs)}.`,
      '',
    );
  }
  const p = r.plugin;
  if (p) {
    const kb = (b: number): string => `${Math.round(b / 1024)} KB`;
    lines.push(
      `| Plugin: VM list with ${p.vms.toLocaleString('en-US')} VMs in Chromium (median of ${p.runs}) | ms |`,
      '|---|---|',
    );
    lines.push(`| floor: the list fetched and parsed in the page, no UI | ${p.listFloorMs} |`);
    lines.push(`| click VMs in the app until the table counts them all | ${p.openMs} |`);
    lines.push(
      `| ... of which the UI (the rest is the floor; target < 1000 for both) | ${p.openMs - p.listFloorMs} |`,
    );
    lines.push(`| back to the list Headlamp already holds | ${p.backMs} |`);
    lines.push(
      `| app start on another plugin page (Headlamp's lib and the plugin load) | ${p.bootMs} |`,
    );
    lines.push(
      '',
      `Plugin bundle (dist/main.js): ${kb(p.bundle.bytes)}, ${kb(p.bundle.gzipBytes)} gzipped (target < 300 KB); the terminal (dist/xterm.js, ${kb(p.bundle.xtermBytes)}) loads only when a serial console opens.`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const n = Number(process.env.BENCH_E2E_VMS ?? 1000);
  const results: Record<string, unknown> = {
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      node: process.version,
      date: new Date().toISOString(),
    },
  };
  const only = new Set(
    (process.env.BENCH_ONLY ?? 'webhook,startup,e2e,controllers,plugin,sandbox')
      .split(',')
      .map((x) => x.trim()),
  );
  // Every webhook and audit this run starts (in-process, children, the bundle) finds the CEL engine here.
  process.env[CEL_DIR_ENV] ??= await ensureKubernetesCel((l) => console.log(l));
  console.log('building the production bundle (dist/vmplane.mjs)');
  await new Promise<void>((resolve, reject) =>
    spawn('npm', ['run', 'bundle', '--silent'], { cwd: REPO_ROOT, stdio: 'inherit' }).on(
      'exit',
      (c) => (c === 0 ? resolve() : reject(new Error('bundle failed'))),
    ),
  );
  if (only.has('webhook')) results.webhook = await webhookAlone();
  if (only.has('sandbox')) results.sandbox = await sandboxBench();

  const cp = new ControlPlane({ binaries: await ensureBinaries(), tempPrefix: 'vmplane-bench-' });
  controlPlane = cp;
  const ep = await cp.start();
  try {
    const kc = kubeConfigFrom(ep.kubeconfigPath);
    await installCrds(kc, join(REPO_ROOT, 'charts/vmplane/crds'));
    const rest = new KubeRest(kc);
    // First, while the API server holds no other VM: the plugin's list counts all of them.
    if (only.has('plugin')) {
      results.plugin = await pluginBench(
        ep.kubeconfigPath,
        rest,
        Number(process.env.BENCH_UI_VMS ?? 5000),
      );
      await deleteFleet(rest, 'ui-fleet');
    }
    for (const ns of ['vmplane-start', 'vmplane-bench'])
      await rest.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    for (const o of [
      {
        apiVersion: 'vmplane.io/v1alpha1',
        kind: 'VirtualMachineClass',
        metadata: { name: 'small' },
        spec: { hardware: { cpus: 2, memory: '4Gi' }, reservation: 'Guaranteed' },
      },
      {
        apiVersion: 'vmplane.io/v1alpha1',
        kind: 'ClusterVirtualMachineImage',
        metadata: { name: 'ubuntu-24.04' },
        spec: { source: { http: { url: 'https://x/u.img' } }, size: '10Gi' },
      },
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: {
          name: 'local',
          annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
        },
        provisioner: 'rancher.io/local-path',
      },
    ]) {
      await rest.create(o as never);
    }
    if (only.has('startup')) results.startup = await startup(ep.kubeconfigPath, rest);
    if (only.has('e2e')) results.endToEnd = await throughApiServer(ep.kubeconfigPath, rest, n);
    const sizes = (process.env.BENCH_VMS ?? '1000,5000')
      .split(',')
      .map(Number)
      .filter((x) => x > 0);
    if (only.has('controllers'))
      results.controllers = await controllers(
        ep.kubeconfigPath,
        rest,
        sizes,
        Number(process.env.BENCH_RSS_VMS ?? 10000),
      );
    rest.close();
  } catch (e) {
    if (e instanceof ApiError) console.error(e.message);
    throw e;
  } finally {
    await cp.stop();
  }
  writeFileSync(join(RESULTS, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = table(results as Record<string, any>);
  writeFileSync(join(RESULTS, 'results.md'), `${md}\n`);
  console.log(`\n${md}\n\nwritten to bench/results/`);
}

await main();
process.exit(0);
