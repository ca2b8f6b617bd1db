// Policy exceptions (exceptions.ts): which VMs, rules, namespaces and policies they waive, and
// until when.
import { describe, expect, it } from 'vitest';
import type { VirtualMachinePolicyException } from '../../api/generated/types.ts';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { celEngine } from '../../test/support/cel.ts';
import { policy, policyRunner, results, vm } from '../../test/support/policy.ts';
import { admissionVerdict } from './evaluate.ts';

const run = policyRunner(await celEngine());
const V = API_VERSION;

const exception = (
  spec: Partial<VirtualMachinePolicyException['spec']>,
  ns = 'dev',
): VirtualMachinePolicyException => ({
  apiVersion: V,
  kind: 'VirtualMachinePolicyException',
  metadata: { name: 'ex', namespace: ns },
  spec: { policyName: 'p', reason: 'approved by the platform team', vmNames: ['web'], ...spec },
});

describe('exceptions', () => {
  const p = policy({ rules: { maxCPUs: 1, maxDisks: 0 } });

  it('waive the whole policy for a named VM, and say so', async () => {
    const rs = await run(p, vm(), { exceptions: [exception({})] });
    expect(results(rs)).toEqual(['maxCPUs:skip', 'maxDisks:skip']);
    expect(rs[0]?.exception).toBe('dev/ex');
    expect(rs[0]?.message).toContain('waived by exception dev/ex: approved by the platform team');
    expect(admissionVerdict(rs)).toMatchObject({
      denials: [],
      exceptionsUsed: [{ rule: 'maxCPUs' }, { rule: 'maxDisks' }],
    });
  });

  it('waive only the listed rules', async () => {
    expect(
      results(await run(p, vm(), { exceptions: [exception({ rules: ['maxCPUs'] })] })),
    ).toEqual(['maxCPUs:skip', 'maxDisks:fail']);
  });

  it('select VMs by label', async () => {
    const ex = exception({
      vmNames: undefined,
      vmSelector: { matchLabels: { 'vmplane.io/owner': 'team-a' } },
    });
    expect(results(await run(p, vm(), { exceptions: [ex] }))).toEqual([
      'maxCPUs:skip',
      'maxDisks:skip',
    ]);
  });

  it('do not apply to other VMs, other namespaces or other policies', async () => {
    expect(
      results(await run(p, vm({}, { name: 'other' }), { exceptions: [exception({})] })),
    ).toEqual(['maxCPUs:fail', 'maxDisks:fail']);
    expect(results(await run(p, vm(), { exceptions: [exception({}, 'prod')] }))).toEqual([
      'maxCPUs:fail',
      'maxDisks:fail',
    ]);
    expect(results(await run(p, vm(), { exceptions: [exception({ policyName: 'q' })] }))).toEqual([
      'maxCPUs:fail',
      'maxDisks:fail',
    ]);
  });

  it('stop applying once expired', async () => {
    const ex = exception({ expires: '2026-11-01T00:00:00Z' });
    expect(results(await run(p, vm(), { exceptions: [ex] }))).toEqual([
      'maxCPUs:fail',
      'maxDisks:fail',
    ]);
    expect(
      results(await run(p, vm(), { exceptions: [ex], now: Date.parse('2026-10-01T00:00:00Z') })),
    ).toEqual(['maxCPUs:skip', 'maxDisks:skip']);
  });
});
