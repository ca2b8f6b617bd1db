// Native enforcement, decided: which generated ValidatingAdmissionPolicy and binding a policy
// should have (the translation's objects, owned by the policy and labelled for the controllers'
// scope), what to create, replace or delete to get there from what the API server has, and what
// status.enforcement says. Pure; controllers/src/policy/native.ts does the I/O.
import type {
  VirtualMachinePolicy,
  VirtualMachinePolicyException,
} from '../../../api/generated/types.ts';
import { API_VERSION } from '../../../api/src/wellknown.ts';
import { isSubset } from '../../../kube/src/objects.ts';
import type { NativePlan } from '../../../policy/src/native/plan.ts';

export type Json = Record<string, unknown>;
export type Kind = 'policy' | 'binding';
export interface NativeObjects {
  policy: Json;
  binding: Json;
}

export type NativeAction =
  | { op: 'create'; kind: Kind; object: Json }
  | { op: 'replace'; kind: Kind; object: Json }
  | { op: 'delete'; kind: Kind; name: string };

export type Enforcement = NonNullable<NonNullable<VirtualMachinePolicy['status']>['enforcement']>;

/** Why nothing is generated for a policy, or undefined when generation is on for it. */
export function generationOff(
  policy: VirtualMachinePolicy,
  o: { globallyOn: boolean; supported: boolean },
): string | undefined {
  if (!o.globallyOn) return 'native enforcement is turned off for the cluster (nativePolicies)';
  if (!o.supported)
    return 'the API server does not serve admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy';
  if (policy.spec.nativeEnforcement === 'Disabled') return 'spec.nativeEnforcement is Disabled';
  return undefined;
}

const meta = (o: Json | undefined): Json => (o?.metadata ?? {}) as Json;
const nameOf = (o: Json): string => String(meta(o).name ?? '');

/**
 * The objects as the controllers keep them: the translation's, owned by the policy (the garbage
 * collector removes them with it) and carrying the controllers' scope label, if any.
 */
export function desiredObjects(
  policy: VirtualMachinePolicy,
  objects: NativeObjects,
  scopeLabel?: [string, string],
): NativeObjects {
  const owner = {
    apiVersion: API_VERSION,
    kind: 'VirtualMachinePolicy',
    name: policy.metadata.name,
    uid: policy.metadata.uid,
    controller: true,
  };
  const decorate = (o: Json): Json => ({
    ...o,
    metadata: {
      ...meta(o),
      labels: {
        ...((meta(o).labels ?? {}) as Json),
        ...(scopeLabel ? { [scopeLabel[0]]: scopeLabel[1] } : {}),
      },
      ownerReferences: [owner],
    },
  });
  return { policy: decorate(objects.policy), binding: decorate(objects.binding) };
}

/**
 * Whether the object in the API server is as desired: the spec, labels and owner the controllers
 * set (fields the API server defaults are left alone; a field someone added to the spec, or an
 * element added to or removed from a list, counts as an edit).
 */
export function inSync(desired: Json, observed: Json | undefined): boolean {
  if (!observed) return false;
  const d = meta(desired);
  const o = meta(observed);
  return (
    isSubset(desired.spec, observed.spec) &&
    isSubset(d.labels, o.labels) &&
    isSubset(d.ownerReferences, o.ownerReferences) &&
    Object.keys((observed.spec ?? {}) as Json).every((k) => isAllowedExtra(k, desired.spec))
  );
}

/** Spec fields the API server fills in by default; any other field must be the controllers'. */
const DEFAULTED = new Set(['matchPolicy', 'failurePolicy', 'matchResources', 'matchConstraints']);
function isAllowedExtra(key: string, desiredSpec: unknown): boolean {
  return DEFAULTED.has(key) || Object.hasOwn((desiredSpec ?? {}) as Json, key);
}

/**
 * What to do to turn `observed` into `desired` (undefined: nothing generated). The policy comes
 * before its binding on the way in, the binding goes first on the way out; an edited object is
 * replaced whole with the desired one (at the observed resourceVersion).
 */
export function nativeActions(
  desired: NativeObjects | undefined,
  observed: Partial<NativeObjects>,
): NativeAction[] {
  const out: NativeAction[] = [];
  if (!desired) {
    if (observed.binding)
      out.push({ op: 'delete', kind: 'binding', name: nameOf(observed.binding) });
    if (observed.policy) out.push({ op: 'delete', kind: 'policy', name: nameOf(observed.policy) });
    return out;
  }
  for (const kind of ['policy', 'binding'] as const) {
    const want = desired[kind];
    const have = observed[kind];
    if (!have) out.push({ op: 'create', kind, object: want });
    else if (!inSync(want, have))
      out.push({
        op: 'replace',
        kind,
        object: {
          ...want,
          metadata: { ...meta(want), resourceVersion: meta(have).resourceVersion },
        },
      });
  }
  return out;
}

/** status.enforcement for a policy: which rules the API server enforces, which the webhook, why. */
export function enforcementStatus(
  policy: VirtualMachinePolicy,
  plan: NativePlan,
  off: string | undefined,
  admissionPolicy: string,
): Enforcement {
  const generation = policy.metadata.generation ?? 0;
  if (off || !plan.objects) {
    const webhook = off
      ? [...plan.native, ...plan.webhook.map((w) => w.rule)].map((rule) => ({
          rule,
          reason: off,
        }))
      : plan.webhook;
    return {
      observedGeneration: generation,
      native: [],
      webhook,
      message: `every rule runs in the webhook: ${off ?? 'no rule can run in the API server'}`,
    };
  }
  return {
    observedGeneration: generation,
    admissionPolicy,
    native: plan.native,
    webhook: plan.webhook,
    message: `${plan.native.length} of ${plan.native.length + plan.webhook.length} rules run in the API server (ValidatingAdmissionPolicy ${admissionPolicy})`,
  };
}

/** The merge patch writing status.enforcement (only that field; absent keys cleared), or undefined when it says the same already. */
export function enforcementPatch(
  before: Enforcement | undefined,
  after: Enforcement,
): { status: { enforcement: Json } } | undefined {
  const norm = (e: Enforcement | undefined): string =>
    JSON.stringify(
      e && {
        observedGeneration: e.observedGeneration,
        admissionPolicy: e.admissionPolicy ?? null,
        native: e.native ?? [],
        webhook: e.webhook ?? [],
        message: e.message ?? null,
      },
    );
  if (norm(before) === norm(after)) return undefined;
  return { status: { enforcement: JSON.parse(norm(after)) as Json } };
}

/** The longest requeue: timers hold at most 2^31-1 ms, and a far expiry is checked again hourly. */
export const MAX_REQUEUE_MS = 60 * 60_000;

/**
 * Milliseconds until a second past the nearest exception expiry after `now` (the plan changes
 * then), at most MAX_REQUEUE_MS; undefined when no exception expires.
 */
export function nextExpiryMs(
  exceptions: readonly VirtualMachinePolicyException[],
  now: number,
): number | undefined {
  let next: number | undefined;
  for (const e of exceptions) {
    const t = e.spec.expires ? Date.parse(e.spec.expires) : NaN;
    if (t > now && (next === undefined || t < next)) next = t;
  }
  return next === undefined ? undefined : Math.min(next - now + 1_000, MAX_REQUEUE_MS);
}

/**
 * After the controllers write a VAP or binding, status.enforcement waits at least MIN_SETTLE_MS
 * (the API server's admission plugin picks up policy changes about a second after its informers
 * see them), and until the API server's type check reports the VAP's generation (`seen`) or
 * MAX_SETTLE_MS passed. Objects this process did not write (`changedAt` undefined) are settled.
 */
export const MIN_SETTLE_MS = 1_500;
export const MAX_SETTLE_MS = 5_000;
export function settled(changedAt: number | undefined, now: number, seen: boolean): boolean {
  if (changedAt === undefined) return true;
  const since = now - changedAt;
  return since >= MIN_SETTLE_MS && (seen || since >= MAX_SETTLE_MS);
}
