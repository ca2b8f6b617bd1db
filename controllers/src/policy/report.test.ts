import { describe, expect, it } from 'vitest';
import type { CompiledPolicy, RuleResult } from '../../../policy/src/index.ts';
import {
  buildReports,
  isReportName,
  MAX_RESULTS_PER_REPORT,
  policyStatus,
  reportName,
} from './report.ts';

const result = (policy: string, rule: string): RuleResult =>
  ({
    policy,
    rule,
    result: 'fail',
    message: `VM violates ${policy}/${rule}: a message of ordinary length that says what to change`,
    actions: ['Audit'],
  }) as RuleResult;

/** `vms` VMs with `perVm` results each. */
function vms(
  count: number,
  perVm: number,
): { namespace: string; name: string; results: RuleResult[] }[] {
  return Array.from({ length: count }, (_, i) => ({
    namespace: 'big',
    name: `vm-${String(i).padStart(4, '0')}`,
    uid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
    results: Array.from({ length: perVm }, (_, k) => result(`policy-${k % 10}`, `rule-${k}`)),
  }));
}

describe('PolicyReports of a namespace', () => {
  it('fit in one report while the results do', () => {
    const reports = buildReports('big', vms(10, 30), 0);
    expect(reports.map((r) => (r.metadata as { name: string }).name)).toEqual([
      'vmplane-vm-policies',
    ]);
  });

  it('are split past the limit, each under etcd’s 1.5 MiB, keeping every result once', () => {
    const input = vms(200, 30); // 6,000 results: one report would be about 2.5 MB
    const one = JSON.stringify(buildReports('big', input, 0, Infinity)[0]);
    expect(Buffer.byteLength(one)).toBeGreaterThan(1.5 * 1024 * 1024);
    const reports = buildReports('big', input, 0);
    // 33 VMs (990 results) per report: 7 reports for 200 VMs.
    expect(reports.map((r) => (r.metadata as { name: string }).name)).toEqual(
      [0, 1, 2, 3, 4, 5, 6].map(reportName),
    );
    let total = 0;
    const seen = new Set<string>();
    for (const r of reports) {
      expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThan(1.5 * 1024 * 1024);
      const results = r.results as { resources: { name: string }[] }[];
      expect(results.length).toBeLessThanOrEqual(MAX_RESULTS_PER_REPORT);
      total += results.length;
      // A VM's results stay together in one report.
      const names = new Set(results.map((x) => x.resources[0]?.name ?? ''));
      for (const n of names) {
        expect(seen.has(n)).toBe(false);
        seen.add(n);
      }
      const s = r.summary as { fail: number };
      expect(s.fail).toBe(results.length);
    }
    expect(total).toBe(6000);
  });

  it('names its reports so stale ones can be found', () => {
    expect(isReportName('vmplane-vm-policies')).toBe(true);
    expect(isReportName('vmplane-vm-policies-7')).toBe(true);
    expect(isReportName('vmplane-vm-policies-x')).toBe(false);
    expect(isReportName('someone-elses')).toBe(false);
  });
});

describe('policyStatus', () => {
  it('counts built-in and CEL rules among those in force', () => {
    const p = {
      name: 'p',
      generation: 3,
      policy: { metadata: { name: 'p' }, spec: {} },
      rules: [{ name: 'maxCPUs', onDelete: false, check: () => undefined }],
      cel: [
        { name: 'cel-0', expression: 'true', code: 403 },
        { name: 'owner', expression: 'true', code: 403 },
      ],
      errors: [],
      warnings: [],
    } as unknown as CompiledPolicy;
    const status = policyStatus(p, [], '2026-12-05T00:00:00Z');
    expect(status.conditions[0]).toMatchObject({
      type: 'Ready',
      status: 'True',
      message: 'all 3 rules are in force',
      observedGeneration: 3,
    });
  });
});
