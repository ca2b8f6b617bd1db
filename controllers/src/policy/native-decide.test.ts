import { describe, expect, it } from 'vitest';
import type {
  VirtualMachinePolicy,
  VirtualMachinePolicyException,
} from '../../../api/generated/types.ts';
import type { NativePlan } from '../../../policy/src/native/plan.ts';
import {
  desiredObjects,
  enforcementPatch,
  enforcementStatus,
  generationOff,
  inSync,
  nativeActions,
  MAX_REQUEUE_MS,
  MAX_SETTLE_MS,
  MIN_SETTLE_MS,
  nextExpiryMs,
  settled,
  type NativeObjects,
} from './native-decide.ts';

const policy = (spec: Partial<VirtualMachinePolicy['spec']> = {}): VirtualMachinePolicy => ({
  apiVersion: 'vmplane.io/v1alpha1',
  kind: 'VirtualMachinePolicy',
  metadata: { name: 'p', uid: 'u1', generation: 4 },
  spec: { validationActions: ['Deny'], ...spec },
});

const generated = (expression = 'true'): NativeObjects => ({
  policy: {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: 'vmplane-policy-p', labels: { 'app.kubernetes.io/managed-by': 'vmplane' } },
    spec: { failurePolicy: 'Fail', validations: [{ expression, message: 'm' }] },
  },
  binding: {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: 'vmplane-policy-p', labels: { 'app.kubernetes.io/managed-by': 'vmplane' } },
    spec: { policyName: 'vmplane-policy-p', validationActions: ['Deny'] },
  },
});

/** What the API server gives back: defaults filled in, a resourceVersion. */
const stored = (o: Record<string, unknown>, rv = '7'): Record<string, unknown> => ({
  ...o,
  metadata: { ...(o.metadata as object), resourceVersion: rv, uid: 'x' },
  spec: {
    ...(o.spec as object),
    matchConstraints: { matchPolicy: 'Equivalent', namespaceSelector: {} },
  },
});

describe('generationOff', () => {
  it('says why nothing is generated: global switch, no VAP in the API server, the policy', () => {
    const on = { globallyOn: true, supported: true };
    expect(generationOff(policy(), on)).toBeUndefined();
    expect(generationOff(policy({ nativeEnforcement: 'Auto' }), on)).toBeUndefined();
    expect(generationOff(policy(), { ...on, globallyOn: false })).toMatch(/nativePolicies/);
    expect(generationOff(policy(), { ...on, supported: false })).toMatch(
      /does not serve .*ValidatingAdmissionPolicy/,
    );
    expect(generationOff(policy({ nativeEnforcement: 'Disabled' }), on)).toMatch(/Disabled/);
  });
});

describe('desiredObjects', () => {
  it('owns both objects by the policy and adds the scope label', () => {
    const d = desiredObjects(policy(), generated(), ['vmplane.io/webhook-scope', 's1']);
    for (const o of [d.policy, d.binding])
      expect(o.metadata).toMatchObject({
        labels: { 'app.kubernetes.io/managed-by': 'vmplane', 'vmplane.io/webhook-scope': 's1' },
        ownerReferences: [{ kind: 'VirtualMachinePolicy', name: 'p', uid: 'u1', controller: true }],
      });
  });
});

describe('nativeActions', () => {
  const want = desiredObjects(policy(), generated());

  it('creates the policy before its binding', () => {
    expect(nativeActions(want, {}).map((a) => `${a.op} ${a.kind}`)).toEqual([
      'create policy',
      'create binding',
    ]);
  });

  it('does nothing when the API server has them (its defaults do not count as edits)', () => {
    expect(inSync(want.policy, stored(want.policy))).toBe(true);
    expect(
      nativeActions(want, { policy: stored(want.policy), binding: stored(want.binding) }),
    ).toEqual([]);
  });

  it('replaces an edited object whole, at the resourceVersion it saw', () => {
    const edited = stored(desiredObjects(policy(), generated('false')).policy, '9');
    const actions = nativeActions(want, { policy: edited, binding: stored(want.binding) });
    expect(actions).toEqual([
      {
        op: 'replace',
        kind: 'policy',
        object: {
          ...want.policy,
          metadata: { ...(want.policy.metadata as object), resourceVersion: '9' },
        },
      },
    ]);
  });

  it('sees added fields, removed labels and a lost owner as edits', () => {
    const s = stored(want.policy);
    const meta = s.metadata as Record<string, unknown>;
    expect(
      inSync(want.policy, { ...s, spec: { ...(s.spec as object), auditAnnotations: [] } }),
    ).toBe(false);
    expect(inSync(want.policy, { ...s, metadata: { ...meta, labels: {} } })).toBe(false);
    expect(inSync(want.policy, { ...s, metadata: { ...meta, ownerReferences: [] } })).toBe(false);
    expect(inSync(want.policy, undefined)).toBe(false);
  });

  it('deletes the binding, then the policy, when nothing is to be generated', () => {
    expect(
      nativeActions(undefined, { policy: stored(want.policy), binding: stored(want.binding) }),
    ).toEqual([
      { op: 'delete', kind: 'binding', name: 'vmplane-policy-p' },
      { op: 'delete', kind: 'policy', name: 'vmplane-policy-p' },
    ]);
    expect(nativeActions(undefined, {})).toEqual([]);
  });
});

describe('enforcementStatus', () => {
  const plan: NativePlan = {
    native: ['a', 'requiredLabels'],
    webhook: [{ rule: 'b', reason: 'reads vmClass' }],
    objects: generated(),
  };

  it('lists where each rule runs, for the current generation', () => {
    expect(enforcementStatus(policy(), plan, undefined, 'vmplane-policy-p')).toEqual({
      observedGeneration: 4,
      admissionPolicy: 'vmplane-policy-p',
      native: ['a', 'requiredLabels'],
      webhook: [{ rule: 'b', reason: 'reads vmClass' }],
      message: '2 of 3 rules run in the API server (ValidatingAdmissionPolicy vmplane-policy-p)',
    });
  });

  it('puts every rule in the webhook, with the reason, when generation is off', () => {
    const s = enforcementStatus(policy(), plan, 'spec.nativeEnforcement is Disabled', 'x');
    expect(s.native).toEqual([]);
    expect(s.admissionPolicy).toBeUndefined();
    expect(s.webhook).toEqual(
      ['a', 'requiredLabels', 'b'].map((rule) => ({
        rule,
        reason: 'spec.nativeEnforcement is Disabled',
      })),
    );
  });

  it('keeps the translation reasons when no rule qualifies', () => {
    const none: NativePlan = { native: [], webhook: plan.webhook };
    expect(enforcementStatus(policy(), none, undefined, 'x')).toMatchObject({
      native: [],
      webhook: plan.webhook,
      message: 'every rule runs in the webhook: no rule can run in the API server',
    });
  });
});

describe('enforcementPatch', () => {
  const e = { observedGeneration: 4, native: ['a'], webhook: [], message: 'm' };
  it('is nothing when the status says the same, and clears what is gone', () => {
    expect(enforcementPatch(e, { ...e })).toBeUndefined();
    expect(enforcementPatch({ ...e, admissionPolicy: 'x' }, e)).toEqual({
      status: { enforcement: { ...e, admissionPolicy: null } },
    });
    expect(enforcementPatch(undefined, e)?.status.enforcement).toMatchObject({ native: ['a'] });
  });
});

describe('nextExpiryMs', () => {
  const ex = (expires?: string): VirtualMachinePolicyException => ({
    apiVersion: 'vmplane.io/v1alpha1',
    kind: 'VirtualMachinePolicyException',
    metadata: { name: 'e', namespace: 'n' },
    spec: {
      policyName: 'p',
      reason: 'a good reason',
      vmNames: ['v'],
      ...(expires ? { expires } : {}),
    },
  });
  const now = Date.parse('2026-12-07T00:00:00Z');
  it('is a second past the nearest future expiry; past and missing expiries do not count', () => {
    expect(
      nextExpiryMs(
        [ex('2026-12-07T01:00:00Z'), ex('2026-12-07T00:10:00Z'), ex('2026-12-06T00:00:00Z'), ex()],
        now,
      ),
    ).toBe(10 * 60_000 + 1_000);
    expect(nextExpiryMs([ex('2026-12-06T00:00:00Z'), ex()], now)).toBeUndefined();
    // Timers overflow past 2^31-1 ms (24.8 days) and fire at once: a far expiry waits an hour.
    expect(nextExpiryMs([ex('2027-06-30T00:00:00Z')], now)).toBe(MAX_REQUEUE_MS);
  });
});

describe('settled', () => {
  it('waits a moment after a write, and for the API server to have seen it (or a while)', () => {
    expect(settled(undefined, 0, false)).toBe(true);
    expect(settled(0, MIN_SETTLE_MS - 1, true)).toBe(false);
    expect(settled(0, MIN_SETTLE_MS, true)).toBe(true);
    expect(settled(0, MIN_SETTLE_MS, false)).toBe(false);
    expect(settled(0, MAX_SETTLE_MS, false)).toBe(true);
  });
});
