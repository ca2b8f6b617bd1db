// Reading policy results for the UI: PolicyReport results about one VM, and the denial message of
// a server-side dry run. Pure functions.
import type { PolicyReport } from '../../../api/generated/types.ts';

export interface PolicyResultRow {
  policy: string;
  rule: string;
  result: string;
  message: string;
  severity: string;
}

type Result = NonNullable<PolicyReport['results']>[number];

/** The results of all reports that concern this VM (by uid, else by kind/name/namespace). */
export function resultsForVm(
  reports: readonly Pick<PolicyReport, 'results' | 'metadata'>[],
  vm: { name: string; namespace: string; uid?: string }
): PolicyResultRow[] {
  const rows: PolicyResultRow[] = [];
  for (const report of reports) {
    if (report.metadata?.namespace && report.metadata.namespace !== vm.namespace) continue;
    for (const r of report.results ?? []) {
      if (!concerns(r, vm)) continue;
      rows.push({
        policy: r.policy ?? '',
        rule: r.rule ?? '',
        result: r.result ?? '',
        message: r.message ?? '',
        severity: r.severity ?? '',
      });
    }
  }
  const order: Record<string, number> = { error: 0, fail: 1, warn: 2, skip: 3, pass: 4 };
  return rows.sort(
    (a, b) => (order[a.result] ?? 9) - (order[b.result] ?? 9) || a.policy.localeCompare(b.policy)
  );
}

function concerns(r: Result, vm: { name: string; namespace: string; uid?: string }): boolean {
  return (r.resources ?? []).some(
    ref =>
      (vm.uid && ref.uid === vm.uid) ||
      (ref.kind === 'VirtualMachine' &&
        ref.name === vm.name &&
        (ref.namespace ?? vm.namespace) === vm.namespace)
  );
}

/**
 * The reasons in an admission denial. The API server answers
 * `admission webhook "x" denied the request: a; b` and vmplane joins its reasons with "; ".
 */
export function denialReasons(message: string): string[] {
  const denied = /denied the request: ([\s\S]*)$/.exec(message);
  const body = (denied ? denied[1] : message.replace(/^[A-Za-z ]+ - /, '')) ?? '';
  return body
    .split(/;\s+(?=[A-Za-z[(])/)
    .map(s => s.trim())
    .filter(Boolean);
}
