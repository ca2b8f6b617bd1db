// Native enforcement for the end-to-end benchmark: the controllers (production bundle) started
// with generation on or off (VMPLANE_NATIVE_POLICIES), until every policy's status.enforcement is
// current (observedGeneration == generation) and says what generation should have done; then
// stopped, so that the writes measured next pay for admission only. The checks of a status are
// pure (settledProblems, ruleCounts: unit tests in test/bench/native.test.ts).
import { isNotFound, type KubeRest } from '../kube/src/rest.ts';
import { exitReport, startBundle, stop } from './processes.ts';

/** status.enforcement of a VirtualMachinePolicy, as the controllers write it. */
export interface Enforcement {
  observedGeneration?: number;
  admissionPolicy?: string;
  native?: string[];
  webhook?: { rule: string; reason: string }[];
  message?: string;
}

export interface PolicyLike {
  metadata: { name: string; generation?: number };
  status?: { enforcement?: Enforcement };
}

/**
 * What keeps the policies from being settled for generation on (every policy has rules enforced
 * natively and names its admission policy) or off (none has): one line per policy, empty when
 * all are.
 */
export function settledProblems(policies: readonly PolicyLike[], on: boolean): string[] {
  return policies.flatMap((p): string[] => {
    const name = p.metadata.name;
    const e = p.status?.enforcement;
    if (!e) return [`${name}: no status.enforcement`];
    if (e.observedGeneration !== p.metadata.generation)
      return [
        `${name}: status.enforcement.observedGeneration ${e.observedGeneration}, metadata.generation ${p.metadata.generation}`,
      ];
    const native = e.native?.length ?? 0;
    if (on && (!native || !e.admissionPolicy))
      return [
        `${name}: no rule enforced natively with generation on (${(e.webhook ?? []).map((w) => `${w.rule}: ${w.reason}`).join('; ') || e.message || 'no reason given'})`,
      ];
    if (!on && native) return [`${name}: ${native} rules still native with generation off`];
    return [];
  });
}

/** How many of the policies' rules run in the API server and how many in the webhook, and why. */
export function ruleCounts(policies: readonly PolicyLike[]): {
  native: number;
  webhook: number;
  reasons: string[];
} {
  const es = policies.map((p) => p.status?.enforcement ?? {});
  return {
    native: es.reduce((s, e) => s + (e.native?.length ?? 0), 0),
    webhook: es.reduce((s, e) => s + (e.webhook?.length ?? 0), 0),
    reasons: [
      ...new Set(es.flatMap((e) => (e.webhook ?? []).map((w) => `${w.rule}: ${w.reason}`))),
    ],
  };
}

/** The label on the objects the controllers generate (policy/src/native/plan.ts NATIVE_MANAGED_BY). */
export const MANAGED_BY = 'app.kubernetes.io/managed-by=vmplane';

const VAPS = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies';
const BINDINGS = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings';

async function names(rest: KubeRest, path: string): Promise<string[]> {
  const r = await rest.request<{ items: { metadata: { name: string } }[] }>(
    'GET',
    `${path}?labelSelector=${encodeURIComponent(MANAGED_BY)}`,
  );
  return r.body.items.map((o) => o.metadata.name);
}

/**
 * Deletes the admission policies and bindings the controllers generated (they outlive them); the
 * garbage collector may take one first (they are owned by their policies): gone is gone.
 */
export async function deleteGenerated(rest: KubeRest): Promise<void> {
  for (const path of [BINDINGS, VAPS])
    for (const name of await names(rest, path))
      await rest.request('DELETE', `${path}/${name}`).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
}

/** Every generated binding's policy exists, one per policy that says it has one. */
async function checkGenerated(rest: KubeRest, policies: PolicyLike[], on: boolean): Promise<void> {
  const vaps = await names(rest, VAPS);
  const want = on ? policies.map((p) => p.status?.enforcement?.admissionPolicy ?? '') : [];
  const missing = want.filter((n) => !vaps.includes(n));
  if (missing.length || vaps.length !== want.length)
    throw new Error(
      `generation ${on ? 'on' : 'off'}: the policies name ${want.length} generated ValidatingAdmissionPolicies, the API server holds ${vaps.length} labelled ${MANAGED_BY}${missing.length ? ` (missing: ${missing.slice(0, 3).join(', ')})` : ''}`,
    );
}

/**
 * Starts the controllers with generation on or off, waits (up to timeoutMs) until every policy's
 * status.enforcement is current and settled, checks the generated objects, stops the controllers.
 * Fails clearly when the controllers never write the status (a build without native enforcement).
 */
export async function settleGeneration(
  kubeconfig: string,
  rest: KubeRest,
  on: boolean,
  timeoutMs = 120_000,
): Promise<{ native: number; webhook: number; reasons: string[]; settleMs: number }> {
  const child = startBundle('controllers', {
    KUBECONFIG: kubeconfig,
    VMPLANE_NAMESPACE: 'vmplane-bench',
    VMPLANE_LEADER_ELECT: 'false',
    VMPLANE_AUDIT: 'false',
    VMPLANE_NATIVE_POLICIES: String(on),
  });
  const t0 = performance.now();
  try {
    for (;;) {
      const policies = (
        await rest.request<{ items: PolicyLike[] }>(
          'GET',
          '/apis/vmplane.io/v1alpha1/virtualmachinepolicies',
        )
      ).body.items;
      const problems = settledProblems(policies, on);
      if (!problems.length) {
        await checkGenerated(rest, policies, on);
        return { ...ruleCounts(policies), settleMs: Math.round(performance.now() - t0) };
      }
      if (child.exitCode !== null || performance.now() - t0 > timeoutMs)
        throw new Error(
          `generation ${on ? 'on' : 'off'}: ${child.exitCode !== null ? `the controllers ${exitReport(child)}` : `after ${timeoutMs / 1000} s`}, ${problems.length} of ${policies.length} policies are not settled; the first: ${problems[0]}. ` +
            'The controllers write status.enforcement once they have generated (VMPLANE_NATIVE_POLICIES=true) or removed (false) the ValidatingAdmissionPolicies: a build without native enforcement never does.',
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await stop(child);
  }
}
