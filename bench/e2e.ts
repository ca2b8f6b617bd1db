// Through kube-apiserver (BENCH_ONLY=e2e): for 10 and 50 policies (BENCH_E2E_POLICIES) whose
// rules mostly qualify for native enforcement (world.ts e2ePolicies), N VMs created then updated
// by 16 clients in five modes, each in a namespace of its own:
//   none          no admission beyond the API server's own;
//   vap           the floor: the same rules as hand-written ValidatingAdmissionPolicies;
//   vapWebhooks   those VAPs, plus vmplane's webhooks (production bundle) holding no policy;
//   generationOff vmplane's webhooks with the policies, generation off (all rules in the webhook);
//   generationOn  the same, generation on (the controllers generated VAPs; the webhook skips them).
// Any failed write fails the run (measure.ts). The targets: generation on against vapWebhooks,
// creates/s ≥ 0.9× and create p99 ≤ 1.1×.
import type { KubeRest } from '../kube/src/rest.ts';
import { createNamespace, createVms } from './cluster.ts';
import { errorText, ratio, round, statsOf, timed, type Stats } from './measure.ts';
import { deleteGenerated, settleGeneration } from './native.ts';
import { cpuMs } from './processes.ts';
import { registerWebhooks } from './registration.ts';
import { benchVm, e2ePolicies, handWrittenVaps } from './world.ts';

/** Create and update latency of N VMs at a concurrency of 16. */
export type Timings = { create: Stats; update: Stats };

export const MODES = ['none', 'vap', 'vapWebhooks', 'generationOff', 'generationOn'] as const;
export type Mode = (typeof MODES)[number];

const CONCURRENCY = 16;

/** N VMs created, then each one updated (powered off), in a new namespace e2e-<label>. */
async function endToEnd(rest: KubeRest, n: number, label: string): Promise<Timings> {
  const ns = `e2e-${label}`;
  await createNamespace(rest, ns, { tier: 'production' });
  const c = await createVms(rest, n, ns);
  const u = await timed(n, CONCURRENCY, (i) =>
    rest.request('PATCH', `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines/vm-${i}`, {
      body: { spec: { powerState: 'PoweredOff' } },
      contentType: 'application/merge-patch+json',
    }),
  );
  const r = {
    create: statsOf(`e2e ${label}: ${n} VM creates`, c),
    update: statsOf(`e2e ${label}: ${n} VM updates`, u),
  };
  console.log(
    `e2e      ${label.padEnd(18)} create p50 ${r.create.p50} p99 ${r.create.p99} ms ${r.create.rps}/s | update p50 ${r.update.p50} p99 ${r.update.p99} ms ${r.update.rps}/s`,
  );
  return r;
}

/**
 * Waits until a dry-run create of a VM without the owner label (which every policy requires) is
 * refused with a message containing `expect`: the admission under test is in force.
 */
async function waitRefused(rest: KubeRest, ns: string, expect: string): Promise<void> {
  const vm = benchVm('probe', ns);
  vm.metadata.labels = {};
  const deadline = Date.now() + 60_000;
  let last = 'admitted';
  while (Date.now() < deadline) {
    try {
      await rest.request(
        'POST',
        `/apis/vmplane.io/v1alpha1/namespaces/${ns}/virtualmachines?dryRun=All`,
        { body: vm },
      );
      last = 'admitted';
    } catch (e) {
      last = errorText(e);
      if (last.includes(expect)) return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `e2e: a VM without the owner label was never refused with "${expect}" (last: ${last})`,
  );
}

type Measured = Timings & { webhookCpuMsPerWrite?: number };

/** One mode's run, with the webhook process's CPU per write (mutate + validate) when it has one. */
async function run(
  rest: KubeRest,
  n: number,
  label: string,
  webhookPid?: number,
): Promise<Measured> {
  const before = webhookPid ? cpuMs(webhookPid) : 0;
  const r = await endToEnd(rest, n, label);
  if (!webhookPid) return r;
  return { ...r, webhookCpuMsPerWrite: round((cpuMs(webhookPid) - before) / (2 * n), 3) };
}

async function createAll(rest: KubeRest, objects: readonly object[]): Promise<void> {
  for (const o of objects) await rest.create(o as never);
}

async function deleteAll(rest: KubeRest, objects: readonly Record<string, any>[]): Promise<void> {
  for (const o of objects) {
    const plural = `${String(o.kind).toLowerCase()}s`.replace(/ys$/, 'ies');
    const group = String(o.apiVersion);
    await rest
      .request('DELETE', `/apis/${group}/${plural}/${o.metadata.name}`)
      .catch(() => undefined);
  }
}

export interface SizeResult {
  policies: number;
  modes: Record<Mode, Measured>;
  /** Where the policies' rules ran with generation on (from their status), and why the rest stay. */
  rules: { native: number; webhook: number; reasons: string[] };
  ratios: {
    createsPerSecond: number;
    createP99: number;
    updatesPerSecond: number;
    updateP99: number;
  };
}

/** The five modes for p policies, in the order that reuses what each one set up. */
async function oneSize(
  kubeconfig: string,
  rest: KubeRest,
  n: number,
  p: number,
): Promise<SizeResult> {
  const probeNs = `e2e-p${p}-probe`;
  await createNamespace(rest, probeNs, { tier: 'production' });
  const modes: Partial<Record<Mode, Measured>> = {};
  modes.none = await run(rest, n, `p${p}-none`);
  const vaps = handWrittenVaps(p);
  const policies = e2ePolicies(p);
  await createAll(rest, vaps);
  await waitRefused(rest, probeNs, 'ValidatingAdmissionPolicy');
  await new Promise((r) => setTimeout(r, 2000)); // the API server loads each policy asynchronously
  modes.vap = await run(rest, n, `p${p}-vap`);
  const wh = await registerWebhooks(kubeconfig, rest, 'vmplane');
  let rules: SizeResult['rules'];
  try {
    modes.vapWebhooks = await run(rest, n, `p${p}-vap-webhooks`, wh.pid);
    await deleteAll(rest, vaps);
    await createAll(rest, policies);
    await waitRefused(rest, probeNs, `policy "e2e-${p - 1}"`);
    const off = await settleGeneration(kubeconfig, rest, false);
    console.log(`e2e      generation off: settled in ${off.settleMs} ms`);
    modes.generationOff = await run(rest, n, `p${p}-generation-off`, wh.pid);
    const on = await settleGeneration(kubeconfig, rest, true);
    rules = { native: on.native, webhook: on.webhook, reasons: on.reasons };
    console.log(
      `e2e      generation on: settled in ${on.settleMs} ms; ${on.native} rules native, ${on.webhook} in the webhook (${on.reasons.join('; ')})`,
    );
    await new Promise((r) => setTimeout(r, 2000)); // the webhook's cache sees the new statuses
    modes.generationOn = await run(rest, n, `p${p}-generation-on`, wh.pid);
  } finally {
    await deleteAll(rest, [...vaps, ...policies]);
    await deleteGenerated(rest);
    await wh.unregister();
  }
  const m = modes as Record<Mode, Measured>;
  const [on, base] = [m.generationOn, m.vapWebhooks];
  return {
    policies: p,
    modes: m,
    rules,
    ratios: {
      createsPerSecond: ratio(on.create.rps, base.create.rps),
      createP99: ratio(on.create.p99, base.create.p99),
      updatesPerSecond: ratio(on.update.rps, base.update.rps),
      updateP99: ratio(on.update.p99, base.update.p99),
    },
  };
}

export async function throughApiServer(
  kubeconfig: string,
  rest: KubeRest,
  n: number,
  policyCounts: readonly number[] = [10, 50],
): Promise<Record<string, unknown>> {
  const sizes: SizeResult[] = [];
  for (const p of policyCounts) sizes.push(await oneSize(kubeconfig, rest, n, p));
  return { requests: n, concurrency: CONCURRENCY, sizes };
}
