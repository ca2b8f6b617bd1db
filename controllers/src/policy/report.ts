// Pure: from audit results to PolicyReports (one per namespace) and to the counts in each
// policy's status.
import type { VirtualMachinePolicy } from '../../../api/generated/types.ts';
import type { CompiledPolicy, RuleResult } from '../../../policy/src/index.ts';
import { withTransitionTime } from '../../../kube/src/conditions.ts';

export const REPORT_NAME = 'vmplane-vm-policies';

/**
 * Results per PolicyReport. etcd refuses objects over 1.5 MiB, about 4,000 results; a namespace
 * with more is reported in several PolicyReports (vmplane-vm-policies, -2, -3...), each VM's
 * results in one of them.
 */
export const MAX_RESULTS_PER_REPORT = 1000;

/** The name of the n-th (0-based) report of a namespace. */
export const reportName = (n: number): string =>
  n === 0 ? REPORT_NAME : `${REPORT_NAME}-${n + 1}`;

/** Whether a PolicyReport name is one of vmplane's. */
export const isReportName = (name: string): boolean =>
  name === REPORT_NAME || new RegExp(`^${REPORT_NAME}-[0-9]+$`).test(name);

/**
 * A namespace's reports: VMs in name order, cut into reports of at most `max` results (a VM with
 * more results than that gets a report of its own).
 */
export function buildReports(
  namespace: string,
  vms: VmResults[],
  nowSeconds: number,
  max = MAX_RESULTS_PER_REPORT,
): Record<string, unknown>[] {
  const chunks: VmResults[][] = [[]];
  let count = 0;
  for (const vm of [...vms].sort((a, b) => a.name.localeCompare(b.name))) {
    const last = chunks[chunks.length - 1] as VmResults[];
    if (count > 0 && count + vm.results.length > max) {
      chunks.push([vm]);
      count = vm.results.length;
    } else {
      last.push(vm);
      count += vm.results.length;
    }
  }
  return chunks.map((c, i) => {
    const r = buildReport(namespace, c, nowSeconds);
    (r.metadata as { name: string }).name = reportName(i);
    return r;
  });
}
export const REPORT_SOURCE = 'vmplane';

export interface VmResults {
  namespace: string;
  name: string;
  uid?: string;
  results: RuleResult[];
}

type Summary = { pass: number; fail: number; warn: number; error: number; skip: number };

export function buildReport(
  namespace: string,
  vms: VmResults[],
  nowSeconds: number,
): Record<string, unknown> {
  const summary: Summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  const results: Record<string, unknown>[] = [];
  for (const vm of [...vms].sort((a, b) => a.name.localeCompare(b.name))) {
    for (const r of vm.results) {
      summary[r.result]++;
      results.push({
        source: REPORT_SOURCE,
        policy: r.policy,
        rule: r.rule,
        result: r.result,
        message: r.message || 'rule passed',
        scored: true,
        severity: r.actions.includes('Deny') ? 'high' : 'medium',
        timestamp: { seconds: nowSeconds, nanos: 0 },
        resources: [
          {
            apiVersion: 'vmplane.io/v1alpha1',
            kind: 'VirtualMachine',
            namespace,
            name: vm.name,
            ...(vm.uid ? { uid: vm.uid } : {}),
          },
        ],
        properties: {
          actions: r.actions.join(','),
          ...(r.exception ? { exception: r.exception } : {}),
        },
      });
    }
  }
  return {
    apiVersion: 'wgpolicyk8s.io/v1alpha2',
    kind: 'PolicyReport',
    metadata: {
      name: REPORT_NAME,
      namespace,
      labels: { 'app.kubernetes.io/managed-by': 'vmplane' },
    },
    scope: { apiVersion: 'v1', kind: 'Namespace', name: namespace },
    summary,
    results,
  };
}

export interface PolicyStatus {
  observedGeneration: number;
  conditions: {
    type: string;
    status: 'True' | 'False';
    reason: string;
    message: string;
    lastTransitionTime: string;
    observedGeneration: number;
  }[];
  violations: { audited: number; failed: number; excepted: number };
  lastAuditTime: string;
}

/** The status of one policy after an audit. `previous` keeps lastTransitionTime stable. */
export function policyStatus(
  p: CompiledPolicy,
  all: VmResults[],
  now: string,
  previous?: VirtualMachinePolicy['status'],
): PolicyStatus {
  let audited = 0;
  let failed = 0;
  let excepted = 0;
  for (const vm of all) {
    const mine = vm.results.filter((r) => r.policy === p.name && r.result !== 'skip');
    const waived = vm.results.filter((r) => r.policy === p.name && r.exception);
    if (mine.length || waived.length) audited++;
    if (mine.some((r) => r.result === 'fail' || r.result === 'warn' || r.result === 'error'))
      failed++;
    excepted += waived.length;
  }
  const ready = p.errors.length === 0;
  const condition = {
    type: 'Ready',
    status: (ready ? 'True' : 'False') as 'True' | 'False',
    reason: ready ? 'Compiled' : 'CompileError',
    message: ready
      ? `all ${p.rules.length + p.cel.length} rules are in force`
      : `the rules below are NOT in force: ${p.errors.join('; ')}`,
    observedGeneration: p.generation,
  };
  return {
    observedGeneration: p.generation,
    conditions: [withTransitionTime(previous?.conditions, condition, now)],
    violations: { audited, failed, excepted },
    lastAuditTime: now,
  };
}
