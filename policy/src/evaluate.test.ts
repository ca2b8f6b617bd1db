// Evaluating policies and the admission verdict (evaluate.ts): Deny, Warn and Audit alone and
// together, fail-closed errors, several policies at once.
import { describe, expect, it } from 'vitest';
import { celEngine } from '../../test/support/cel.ts';
import { policy, policyRunner, results, vm } from '../../test/support/policy.ts';
import type { VirtualMachinePolicy } from '../../api/generated/types.ts';
import { admissionVerdict, nativeRulesInForce } from './evaluate.ts';
import type { RuleResult } from './types.ts';

const run = policyRunner(await celEngine());

describe('modes', () => {
  const failing = (actions: ('Deny' | 'Warn' | 'Audit')[]): Promise<RuleResult[]> =>
    run(policy({ validationActions: actions, rules: { maxCPUs: 1 } }), vm());

  it('Deny: fail, and the request is denied with the policy and rule named', async () => {
    const rs = await failing(['Deny']);
    expect(results(rs)).toEqual(['maxCPUs:fail']);
    expect(admissionVerdict(rs).denials).toEqual([
      {
        code: 403,
        message: 'policy "p" rule maxCPUs: 2 vCPUs (class "small") exceed the maximum of 1',
      },
    ]);
  });

  it('Warn: warn, and the request is admitted with a warning', async () => {
    const v = admissionVerdict(await failing(['Warn']));
    expect(v.denials).toEqual([]);
    expect(v.warnings).toEqual([
      'policy "p" rule maxCPUs: 2 vCPUs (class "small") exceed the maximum of 1',
    ]);
  });

  it('Audit: admitted, recorded for the report', async () => {
    const v = admissionVerdict(await failing(['Audit']));
    expect(v).toMatchObject({
      denials: [],
      warnings: [],
      audits: [{ policy: 'p', rule: 'maxCPUs', result: 'fail' }],
    });
  });

  it('Deny and Audit together: denied and recorded', async () => {
    const v = admissionVerdict(await failing(['Deny', 'Audit']));
    expect(v.denials).toHaveLength(1);
    expect(v.audits).toHaveLength(1);
  });

  it('Warn and Audit together: warned and recorded', async () => {
    const rs = await failing(['Warn', 'Audit']);
    expect(results(rs)).toEqual(['maxCPUs:warn']);
    expect(admissionVerdict(rs)).toMatchObject({
      warnings: [expect.any(String)],
      audits: [expect.any(Object)],
    });
  });

  it('a runtime error denies under Deny: guardrails fail closed', async () => {
    const rs = await run(
      policy({ validations: [{ expression: "object.metadata.annotations['x'] == 'y'" }] }),
      vm(),
    );
    expect(admissionVerdict(rs).denials[0]?.message).toContain('expression could not be evaluated');
  });

  it('passing rules produce no denial, warning or audit', async () => {
    expect(
      admissionVerdict(
        await run(policy({ validationActions: ['Deny', 'Audit'], rules: { maxCPUs: 64 } }), vm()),
      ),
    ).toEqual({ denials: [], warnings: [], audits: [], exceptionsUsed: [] });
  });

  it('several policies are all evaluated', async () => {
    const rs = await run(
      [
        policy({ rules: { maxCPUs: 1 } }, 'a'),
        policy({ validationActions: ['Warn'], rules: { maxDisks: 0 } }, 'b'),
      ],
      vm(),
    );
    expect(rs.map((r) => `${r.policy}/${r.rule}:${r.result}`)).toEqual([
      'a/maxCPUs:fail',
      'b/maxDisks:warn',
    ]);
  });
});

describe('failurePolicy', () => {
  const erring = (failurePolicy?: 'Fail' | 'Ignore'): ReturnType<typeof run> =>
    run(
      policy({
        ...(failurePolicy ? { failurePolicy } : {}),
        validations: [{ name: 'x', expression: "object.metadata.annotations['x'] == 'y'" }],
      }),
      vm(),
    );

  it('Fail (the default): an evaluation error denies under Deny', async () => {
    for (const rs of [await erring(), await erring('Fail')])
      expect(admissionVerdict(rs).denials).toHaveLength(1);
  });

  it('Ignore: an evaluation error admits, and is only audited (with why)', async () => {
    const rs = await erring('Ignore');
    expect(results(rs)).toEqual(['x:error']);
    const v = admissionVerdict(rs);
    expect(v.denials).toEqual([]);
    expect(v.warnings).toEqual([]);
    expect(v.audits).toEqual([
      expect.objectContaining({
        rule: 'x',
        result: 'error',
        message: expect.stringMatching(/could not be evaluated.*\(failurePolicy Ignore admits\)$/),
      }),
    ]);
  });

  it('Ignore does not soften a violation: a false expression still denies', async () => {
    const rs = await run(
      policy({ failurePolicy: 'Ignore', validations: [{ name: 'f', expression: 'false' }] }),
      vm(),
    );
    expect(admissionVerdict(rs).denials).toHaveLength(1);
  });
});

describe('rules the API server enforces', () => {
  const p = (status?: VirtualMachinePolicy['status'], generation = 3): VirtualMachinePolicy => ({
    ...policy({
      rules: { maxCPUs: 1 },
      validations: [
        { name: 'a', expression: 'false' },
        { name: 'b', expression: 'false' },
      ],
    }),
    metadata: { name: 'p', generation },
    ...(status ? { status } : {}),
  });
  const enforcement = (observedGeneration: number): VirtualMachinePolicy['status'] => ({
    enforcement: { observedGeneration, native: ['maxCPUs', 'a'], webhook: [] },
  });

  it('are the native rules only while status.enforcement is for the current generation', () => {
    expect([...nativeRulesInForce(p(enforcement(3)))]).toEqual(['maxCPUs', 'a']);
    expect(nativeRulesInForce(p(enforcement(2))).size).toBe(0);
    expect(nativeRulesInForce(p()).size).toBe(0);
  });

  it('are not evaluated when skipped; the rest is', async () => {
    const policyNow = p(enforcement(3));
    const skipRules = new Map([['p', nativeRulesInForce(policyNow)]]);
    expect(results(await run(policyNow, vm(), { skipRules }))).toEqual(['b:fail']);
    expect(results(await run(policyNow, vm()))).toEqual(['maxCPUs:fail', 'a:fail', 'b:fail']);
  });
});
