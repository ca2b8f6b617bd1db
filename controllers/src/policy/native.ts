// Native enforcement: keeps one ValidatingAdmissionPolicy and binding per VirtualMachinePolicy
// whose rules can run inside the API server (policy/src/native/plan.ts decides which), reverts
// edits to them, removes them with the policy or when generation is off (for the policy, for the
// cluster, or on an API server without ValidatingAdmissionPolicy), and writes status.enforcement
// once they exist as desired. Reconciles on the leader only (the Manager's queues).
import type { KubernetesObject } from '@kubernetes/client-node';
import type {
  VirtualMachinePolicy,
  VirtualMachinePolicyException,
} from '../../../api/generated/types.ts';
import type { ControllerDefinition, Manager } from '../../../kube/src/manager.ts';
import type { ResilientInformer } from '../../../kube/src/informer.ts';
import { isNotFound, type KubeRest } from '../../../kube/src/rest.ts';
import { NATIVE_MANAGED_BY, nativeName, nativePlan } from '../../../policy/src/native/plan.ts';
import {
  desiredObjects,
  enforcementPatch,
  enforcementStatus,
  generationOff,
  nativeActions,
  nextExpiryMs,
  settled,
  type Enforcement,
  type Json,
  type NativeAction,
  type NativeObjects,
} from './native-decide.ts';

const POLICIES = '/apis/vmplane.io/v1alpha1/virtualmachinepolicies';
const EXCEPTIONS = '/apis/vmplane.io/v1alpha1/virtualmachinepolicyexceptions';
const ADMISSION = '/apis/admissionregistration.k8s.io/v1';
export const VAPS = `${ADMISSION}/validatingadmissionpolicies`;
export const BINDINGS = `${ADMISSION}/validatingadmissionpolicybindings`;
const MANAGED = Object.entries(NATIVE_MANAGED_BY)
  .map(([k, v]) => `${k}=${v}`)
  .join(',');
const RESYNCING =
  'the generated ValidatingAdmissionPolicy or binding is being brought back to what it should be';

export interface NativeOptions {
  /** Generation on (default) or off for the whole cluster. */
  enabled: boolean;
  /** vmplane's own namespace, never caught. */
  ownNamespace: string;
  /** Name suffix of the generated objects (tests sharing one API server). */
  scope?: string;
  /** A label the controllers' scope selects cluster-scoped objects by; set on generated objects. */
  scopeLabel?: [string, string];
}

type Obj = Json &
  KubernetesObject & {
    status?: { observedGeneration?: number };
    metadata?: { generation?: number };
  };

/** The owning policy's name of a generated object (its controller reference). */
function ownerName(o: KubernetesObject): string | undefined {
  return o.metadata?.ownerReferences?.find((r) => r.kind === 'VirtualMachinePolicy')?.name;
}

/** Whether the API server serves ValidatingAdmissionPolicy and its binding (discovery). */
export async function servesAdmissionPolicies(rest: KubeRest): Promise<boolean> {
  try {
    const { body } = await rest.request<{ resources: { name: string }[] }>('GET', ADMISSION);
    return ['validatingadmissionpolicies', 'validatingadmissionpolicybindings'].every((r) =>
      body.resources.some((x) => x.name === r),
    );
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

async function applyAction(rest: KubeRest, a: NativeAction): Promise<void> {
  const base = a.kind === 'policy' ? VAPS : BINDINGS;
  if (a.op === 'create') await rest.request('POST', base, { body: a.object });
  else if (a.op === 'replace')
    await rest.request('PUT', `${base}/${nameOfObject(a.object)}`, { body: a.object });
  else
    await rest.request('DELETE', `${base}/${a.name}`).catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
}

async function writeEnforcement(
  rest: KubeRest,
  p: VirtualMachinePolicy,
  status: Enforcement,
): Promise<void> {
  const patch = enforcementPatch(p.status?.enforcement, status);
  if (!patch) return;
  await rest
    .request('PATCH', `${POLICIES}/${p.metadata.name}/status`, {
      body: patch,
      contentType: 'application/merge-patch+json',
    })
    .catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
}

function nameOfObject(o: Json): string {
  return String((o.metadata as Json | undefined)?.name ?? '');
}

class NativeReconciler {
  readonly policies: ResilientInformer<VirtualMachinePolicy & KubernetesObject>;
  readonly exceptions: ResilientInformer<VirtualMachinePolicyException & KubernetesObject>;
  readonly vaps: ResilientInformer<Obj>;
  readonly bindings: ResilientInformer<Obj>;
  /** When the controllers last wrote a policy's objects (status waits for the API server). */
  private readonly changed = new Map<string, number>();
  private supported?: Promise<boolean>;

  constructor(
    private readonly manager: Manager,
    private readonly o: NativeOptions,
  ) {
    this.policies = manager.informer(POLICIES);
    this.exceptions = manager.informer(EXCEPTIONS);
    // Optional: an API server without ValidatingAdmissionPolicy must not hold up start-up.
    this.vaps = manager.informer(VAPS, { optional: true, labelSelector: MANAGED });
    this.bindings = manager.informer(BINDINGS, { optional: true, labelSelector: MANAGED });
  }

  /** The policy a generated object in scope belongs to. */
  ours = (x: KubernetesObject): string[] => {
    const owner = ownerName(x);
    return owner && this.manager.inScope(x) ? [owner] : [];
  };

  allKeys = (): string[] => [
    ...new Set([
      ...this.policies
        .list()
        .filter((p) => this.manager.inScope(p))
        .map((p) => p.metadata?.name ?? ''),
      ...[...this.vaps.list(), ...this.bindings.list()].flatMap((x) => this.ours(x)),
    ]),
  ];

  private discover(): Promise<boolean> {
    this.supported ??= servesAdmissionPolicies(this.manager.rest).catch((e: unknown) => {
      this.supported = undefined;
      throw e;
    });
    return this.supported;
  }

  /** What the policy should have generated now, and why not when nothing. */
  private async desire(p: VirtualMachinePolicy, now: number) {
    const mine = this.exceptions.list().filter((e) => e.spec.policyName === p.metadata.name);
    const globallyOn = this.o.enabled;
    const off = generationOff(p, { globallyOn, supported: globallyOn && (await this.discover()) });
    const plan = nativePlan(p, {
      exceptions: mine,
      ownNamespace: this.o.ownNamespace,
      now: new Date(now),
      ...(this.o.scope ? { scope: this.o.scope } : {}),
    });
    const desired =
      !off && plan.objects ? desiredObjects(p, plan.objects, this.o.scopeLabel) : undefined;
    return { mine, off, plan, desired };
  }

  reconcile = async (key: string): Promise<{ requeueAfterMs: number } | undefined> => {
    const rest = this.manager.rest;
    const name = nativeName(key, this.o.scope);
    const vap = this.vaps.get(name);
    const binding = this.bindings.get(name);
    const observed: Partial<NativeObjects> = {
      ...(vap ? { policy: vap } : {}),
      ...(binding ? { binding } : {}),
    };
    const p = this.policies.get(key);
    if (p && !this.manager.inScope(p)) return undefined;
    if (!p) {
      // Deleted: the garbage collector would remove the objects too; do not wait for it.
      for (const a of nativeActions(undefined, observed)) await applyAction(rest, a);
      return undefined;
    }
    const now = Date.now();
    const { mine, off, plan, desired } = await this.desire(p, now);
    const actions = nativeActions(desired, observed);
    // Objects to fix or remove while the status says they enforce: the webhook takes every rule
    // back first, so no rule goes unenforced in between.
    if (actions.length && p.status?.enforcement?.native?.length)
      await writeEnforcement(rest, p, enforcementStatus(p, plan, desired ? RESYNCING : off, name));
    for (const a of actions) await applyAction(rest, a);
    const expiry = nextExpiryMs(mine, now);
    const soon = { requeueAfterMs: Math.min(500, expiry ?? 500) };
    if (desired && actions.length) {
      // Written: the status follows once the API server has taken them in (a later pass).
      this.changed.set(key, now);
      return soon;
    }
    if (desired) {
      const seen = vap?.status?.observedGeneration === vap?.metadata?.generation;
      if (!settled(this.changed.get(key), now, seen)) return soon;
      this.changed.delete(key);
    }
    await writeEnforcement(rest, p, enforcementStatus(p, plan, off, name));
    return expiry !== undefined ? { requeueAfterMs: expiry } : undefined;
  };
}

export function nativePolicyController(manager: Manager, o: NativeOptions): ControllerDefinition {
  const r = new NativeReconciler(manager, o);
  return {
    name: 'native-policy',
    watches: [
      { path: POLICIES, keys: (p) => (manager.inScope(p) ? [p.metadata?.name ?? ''] : []) },
      {
        path: EXCEPTIONS,
        keys: (e) => [(e as unknown as VirtualMachinePolicyException).spec?.policyName ?? ''],
      },
      { path: VAPS, labelSelector: MANAGED, keys: r.ours },
      { path: BINDINGS, labelSelector: MANAGED, keys: r.ours },
    ],
    allKeys: r.allKeys,
    reconcile: r.reconcile,
  };
}
