// The generated ValidatingAdmissionPolicy against the webhook, rule by rule: every generated
// expression runs in the Kubernetes CEL engine (the API server's own), read the way the API
// server reads a validation (match conditions, then each validation; a messageExpression that is
// not a non-blank string falls back to message), and must give exactly the warnings the webhook
// gives for the rules it takes over, over VMs, operations and exceptions.
import { describe, expect, it } from 'vitest';
import type {
  VirtualMachine,
  VirtualMachinePolicy,
  VirtualMachinePolicyException,
} from '../../../api/generated/types.ts';
import { celEngine } from '../../../test/support/cel.ts';
import { lookups, policy, vm } from '../../../test/support/policy.ts';
import {
  admissionVerdict,
  buildContext,
  celInputs,
  compilePolicy,
  evaluatePolicies,
  type Operation,
} from '../index.ts';
import { NATIVE_MANAGED_BY, nativeName, nativePlan, type NativePlan } from './plan.ts';

const engine = await celEngine();
const NOW = new Date('2026-11-22T00:00:00Z');

type Json = Record<string, unknown>;
type V = { expression: string; message: string; messageExpression?: string };

/** What the API server would warn for a Warn binding of the plan's objects. */
async function apiServerWarnings(plan: NativePlan, inputs: Json): Promise<string[]> {
  if (!plan.objects) return [];
  const spec = plan.objects.policy.spec as { matchConditions: V[]; validations: V[] };
  const [conditions = [], checks = []] = await engine.evaluate(
    inputs,
    [
      spec.matchConditions.map((c) => ({ e: c.expression })),
      spec.validations.map((v) => ({
        e: v.expression,
        ...(v.messageExpression ? { m: v.messageExpression } : {}),
      })),
    ],
    10_000,
  );
  if (conditions.some((c) => c.err)) return ['match condition error'];
  if (!conditions.every((c) => c.v === true)) return [];
  return checks.flatMap((o, i) => {
    const v = spec.validations[i] as V;
    if (o.err) return [`error: ${v.message.split(':')[0]}`];
    if (o.v) return [];
    const m = o.msg?.trim();
    return [m && !m.includes('\n') ? m : v.message.trim()];
  });
}

/** What the webhook warns for the rules the plan runs natively (the policy has Warn). */
async function webhookWarnings(
  p: VirtualMachinePolicy,
  plan: NativePlan,
  c: Case,
  exceptions: VirtualMachinePolicyException[],
): Promise<{ warnings: string[]; inputs: Json }> {
  const l = lookups(exceptions);
  const subject = c.object ?? c.old;
  const ctx = buildContext(
    {
      operation: c.op,
      ...(c.object ? { object: c.object } : {}),
      ...(c.old ? { oldObject: c.old } : {}),
      namespace: subject?.metadata.namespace ?? '',
      userInfo: { username: 'alice', groups: ['devs'] },
    },
    l,
  );
  const results = await evaluatePolicies(
    engine,
    [await compilePolicy(engine, p)],
    l.exceptions(),
    ctx,
    {
      now: NOW.getTime(),
      celTimeBudgetMs: 10_000,
    },
  );
  const native = results
    .filter((r) => plan.native.includes(r.rule))
    .map((r) => (r.result === 'error' ? { ...r, message: 'ERROR' } : r));
  const warnings = admissionVerdict(native).warnings.map((w) =>
    w.endsWith(': ERROR') ? `error: ${w.slice(0, -': ERROR'.length).split(':')[0]}` : w,
  );
  return { warnings, inputs: celInputs(ctx) as Json };
}

interface Case {
  name: string;
  op: Operation;
  object?: VirtualMachine;
  old?: VirtualMachine;
}

const full = policy(
  {
    validationActions: ['Warn'],
    match: {
      operations: ['CREATE', 'UPDATE', 'DELETE'],
      vmSelector: { matchExpressions: [{ key: 'skip-me', operator: 'DoesNotExist' }] },
    },
    rules: {
      allowedImages: ['ubuntu-*', 'debian-1?', '*-approved'],
      maxCPUs: 8,
      maxDisks: 2,
      allowedNetworks: ['pod', 'blue', 'lab-?'],
      requiredLabels: [{ key: 'vmplane.io/owner' }, { key: 'env', values: ['dev', 'prod'] }],
      requiredAnnotations: [{ key: 'note' }],
      allowedPowerStates: ['PoweredOn', 'PoweredOff'],
    },
    validations: [
      {
        name: 'not-suspended',
        expression: "object == null || object.spec.?powerState.orValue('') != 'Suspended'",
        messageExpression: "'VM ' + object.metadata.name + ' is suspended'",
      },
      {
        expression:
          "oldObject == null || request.operation != 'DELETE' || oldObject.metadata.name != 'keep'",
      },
      {
        name: 'namespace-tier',
        expression:
          "namespaceObject.metadata.labels['tier'] != 'production' || request.userInfo.username != 'alice'",
        message: 'alice may not touch production',
      },
      { name: 'class-cpus', expression: 'vmClass.spec.hardware.cpus <= 4' },
      {
        name: 'blank-message',
        expression: 'false',
        messageExpression: "'   '",
        message: 'blank falls back',
      },
      { name: 'failing-message', expression: 'false', messageExpression: 'object.spec.zone' },
      { name: 'errors', expression: "object.spec.zone == 'a'", message: 'zone a only' },
    ],
  },
  'full',
);

const exception = (
  name: string,
  spec: Partial<VirtualMachinePolicyException['spec']>,
  namespace = 'dev',
): VirtualMachinePolicyException => ({
  apiVersion: 'vmplane.io/v1alpha1',
  kind: 'VirtualMachinePolicyException',
  metadata: { name, namespace },
  spec: { policyName: 'full', reason: 'a reason long enough', ...spec },
});

const labelled = (
  labels: Record<string, string>,
  spec: Partial<VirtualMachine['spec']> = {},
  name = 'web',
): VirtualMachine =>
  vm(spec, {
    name,
    labels: { 'vmplane.io/owner': 'team-a', env: 'dev', ...labels },
    annotations: { note: 'x' },
  });

const cases: Case[] = [
  { name: 'compliant', op: 'CREATE', object: labelled({}) },
  { name: 'no labels, no annotations', op: 'CREATE', object: vm({}, { name: 'bare', labels: {} }) },
  { name: 'wrong env', op: 'CREATE', object: labelled({ env: 'qa"x' }) },
  {
    name: 'suspended, odd network, too many disks, other image',
    op: 'CREATE',
    object: labelled(
      {},
      {
        powerState: 'Suspended',
        image: { kind: 'ClusterVirtualMachineImage', name: 'windows-2022' },
        network: {
          interfaces: [
            { name: 'nic0' },
            { name: 'nic1', network: 'red' },
            { name: 'nic2', network: 'blue' },
          ],
        },
        disks: [
          { name: 'a', size: '1Gi' },
          { name: 'b', size: '1Gi' },
        ],
      },
    ),
  },
  { name: 'matching globs', op: 'CREATE', object: labelled({}, { image: { name: 'debian-12' } }) },
  { name: 'glob suffix', op: 'CREATE', object: labelled({}, { image: { name: 'x-approved' } }) },
  { name: 'no interfaces', op: 'CREATE', object: labelled({}, { network: { interfaces: [] } }) },
  {
    name: 'not selected',
    op: 'CREATE',
    object: labelled({ 'skip-me': 'yes' }, { powerState: 'Suspended' }),
  },
  {
    name: 'update',
    op: 'UPDATE',
    object: labelled({}, { powerState: 'Suspended' }),
    old: labelled({}),
  },
  {
    name: 'delete',
    op: 'DELETE',
    old: vm({ powerState: 'Suspended' }, { name: 'keep', labels: {} }),
  },
  {
    name: 'production',
    op: 'CREATE',
    object: { ...labelled({}), metadata: { ...labelled({}).metadata, namespace: 'prod' } },
  },
];

const exceptionSets: [string, VirtualMachinePolicyException[]][] = [
  ['no exceptions', []],
  [
    'per-rule exceptions by name and selector, one expired, one elsewhere',
    [
      exception('by-name', {
        vmNames: ['bare', 'web'],
        rules: ['requiredLabels', 'not-suspended'],
      }),
      exception('by-selector', {
        vmSelector: { matchLabels: { env: 'qa"x' } },
        rules: ['requiredLabels'],
      }),
      exception('expired', {
        vmNames: ['web'],
        rules: ['allowedPowerStates'],
        expires: '2026-01-01T00:00:00Z',
      }),
      exception('elsewhere', { vmNames: ['web'], rules: ['allowedImages'] }, 'prod'),
      exception('later', {
        vmNames: ['web'],
        rules: ['maxDisks'],
        expires: '2027-01-01T00:00:00Z',
      }),
    ],
  ],
  [
    'whole-policy exceptions',
    [
      exception('all-of-it', {
        vmSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['dev'] }] },
      }),
      exception('keep', { vmNames: ['keep'] }),
    ],
  ],
];

describe('nativePlan', () => {
  it('says which rules run where, and why', () => {
    const plan = nativePlan(full, { exceptions: [], ownNamespace: 'vmplane-system', now: NOW });
    expect(plan.native).toEqual([
      'allowedImages',
      'maxDisks',
      'allowedNetworks',
      'requiredLabels',
      'requiredAnnotations',
      'allowedPowerStates',
      'not-suspended',
      'cel-1',
      'namespace-tier',
      'blank-message',
      'failing-message',
      'errors',
    ]);
    expect(plan.webhook).toEqual([
      {
        rule: 'maxCPUs',
        reason: 'reads the VirtualMachineClass, which the API server cannot look up',
      },
      {
        rule: 'class-cpus',
        reason:
          'its expression reads vmClass (the VirtualMachineClass), which the API server cannot look up',
      },
    ]);
  });

  for (const [what, exceptions] of exceptionSets)
    it(`gives the webhook's warnings for every VM and operation: ${what}`, async () => {
      const plan = nativePlan(full, { exceptions, ownNamespace: 'vmplane-system', now: NOW });
      let compared = 0;
      for (const c of cases) {
        const { warnings, inputs } = await webhookWarnings(full, plan, c, exceptions);
        expect(await apiServerWarnings(plan, inputs), c.name).toEqual(warnings);
        compared += warnings.length;
      }
      // The cases violate rules: the comparison is not between two empty lists.
      expect(compared).toBeGreaterThan(10);
    });

  it("gives the webhook's allowedNetworks verdicts and messages: globs, the pod network, no interfaces", async () => {
    const nic = (name: string, network?: string): { name: string; network?: string } =>
      network ? { name, network } : { name };
    const on = (...interfaces: { name: string; network?: string }[]): VirtualMachine =>
      labelled({}, { network: { interfaces } });
    const vms: VirtualMachine[] = [
      labelled({}),
      on(),
      on(nic('nic0')),
      on(nic('nic0', 'lab-a'), nic('nic1', 'blue')),
      on(nic('nic0'), nic('nic1', 'lab-10'), nic('nic2', 'red'), nic('nic3', 'lab-b')),
      on(nic('nic0', 'xlab-a'), nic('nic1', 'lab.a')),
    ];
    let compared = 0;
    for (const allowed of [['lab-?', 'blue'], ['pod', '*-a'], ['pod'], ['*']]) {
      const p = policy({ validationActions: ['Warn'], rules: { allowedNetworks: allowed } });
      const plan = nativePlan(p, { exceptions: [], ownNamespace: 'vmplane-system', now: NOW });
      expect(plan.native).toEqual(['allowedNetworks']);
      for (const object of vms) {
        const c: Case = { name: JSON.stringify(object.spec.network), op: 'CREATE', object };
        const { warnings, inputs } = await webhookWarnings(p, plan, c, []);
        expect(await apiServerWarnings(plan, inputs), `${allowed.join(',')} ${c.name}`).toEqual(
          warnings,
        );
        compared += warnings.length;
      }
    }
    expect(compared).toBeGreaterThan(8);
    const bracket = policy({ rules: { allowedNetworks: ['lab-[ab]'] } });
    expect(nativePlan(bracket, { exceptions: [], ownNamespace: 'v', now: NOW }).webhook).toEqual([
      {
        rule: 'allowedNetworks',
        reason: 'a pattern uses glob syntax other than * and ?, which has no exact CEL form',
      },
    ]);
  });

  it('builds the policy and binding the API server takes: match, failure policy, actions, names', () => {
    const p = policy(
      {
        validationActions: ['Deny', 'Audit'],
        match: { namespaceSelector: { matchLabels: { tier: 'production' } } },
        rules: { maxDisks: 1 },
      },
      'prod-disks',
    );
    const plan = nativePlan(p, { exceptions: [], scope: 's1', ownNamespace: 'vmplane', now: NOW });
    expect(plan.objects?.binding).toEqual({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: expect.objectContaining({
        name: 'vmplane-policy-prod-disks-s1',
        labels: { ...NATIVE_MANAGED_BY, 'vmplane.io/webhook-scope': 's1' },
      }),
      spec: { policyName: 'vmplane-policy-prod-disks-s1', validationActions: ['Deny', 'Audit'] },
    });
    const spec = plan.objects?.policy.spec as Json;
    expect(spec.failurePolicy).toBe('Fail');
    expect(spec.matchConstraints).toMatchObject({
      resourceRules: [
        {
          apiGroups: ['vmplane.io'],
          operations: ['CREATE', 'UPDATE'],
          resources: ['virtualmachines'],
        },
      ],
      namespaceSelector: {
        matchLabels: { tier: 'production' },
        matchExpressions: [
          {
            key: 'kubernetes.io/metadata.name',
            operator: 'NotIn',
            values: ['kube-system', 'vmplane'],
          },
          { key: 'vmplane.io/webhook-scope', operator: 'In', values: ['s1'] },
        ],
      },
    });
    const ignore = { ...p, spec: { ...p.spec, failurePolicy: 'Ignore' } } as VirtualMachinePolicy;
    expect(
      (
        nativePlan(ignore, { exceptions: [], ownNamespace: 'v', now: NOW }).objects?.policy
          .spec as Json
      ).failurePolicy,
    ).toBe('Ignore');
    expect(nativeName('x'.repeat(260)).length).toBeLessThanOrEqual(253);
    expect(nativeName('x'.repeat(260))).not.toBe(nativeName(`${'x'.repeat(259)}y`));
  });

  it('keeps everything in the webhook when nothing qualifies, or the policy says so', () => {
    const classOnly = policy({ rules: { maxCPUs: 4 } });
    expect(nativePlan(classOnly, { exceptions: [], ownNamespace: 'v', now: NOW })).toEqual({
      native: [],
      webhook: [
        {
          rule: 'maxCPUs',
          reason: 'reads the VirtualMachineClass, which the API server cannot look up',
        },
      ],
    });
    const disabled = {
      ...full,
      spec: { ...full.spec, nativeEnforcement: 'Disabled' },
    } as VirtualMachinePolicy;
    const plan = nativePlan(disabled, { exceptions: [], ownNamespace: 'v', now: NOW });
    expect(plan.objects).toBeUndefined();
    expect(plan.webhook[0]).toEqual({
      rule: 'allowedImages',
      reason: 'the policy sets nativeEnforcement: Disabled',
    });
    const badSelector = policy({
      match: {
        namespaceSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] },
      },
      rules: { maxDisks: 1 },
    });
    expect(
      nativePlan(badSelector, { exceptions: [], ownNamespace: 'v', now: NOW }).webhook,
    ).toEqual([
      {
        rule: 'maxDisks',
        reason:
          "the policy's namespaceSelector is one the API server refuses: its In requirement on a has no values",
      },
    ]);
  });
});
