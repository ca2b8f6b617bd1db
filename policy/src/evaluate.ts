// Evaluation: every matching policy's rules over one context, exceptions applied, and what the
// validating webhook does with the results (deny, warn, audit, as in VAP bindings).
import type { VirtualMachinePolicyException } from '../../api/generated/types.ts';
import { exceptionApplies } from './exceptions.ts';
import { policyMatches } from './match.ts';
import type { Action, CompiledPolicy, EvalContext, Result, RuleResult } from './types.ts';

export interface EvaluateOptions {
  now?: number;
  /** Report `skip` for every rule of a policy that does not match (the CLI and reports want them). */
  includeSkips?: boolean;
  /** Evaluating existing objects rather than a request (the audit). */
  background?: boolean;
}

export function evaluatePolicies(
  policies: readonly CompiledPolicy[],
  exceptions: readonly VirtualMachinePolicyException[],
  ctx: EvalContext,
  opts: EvaluateOptions = {},
): RuleResult[] {
  const now = opts.now ?? Date.now();
  const out: RuleResult[] = [];
  for (const p of policies) {
    const actions = [...(p.policy.spec.validationActions ?? [])] as Action[];
    if (!policyMatches(p.policy, ctx, opts.background)) {
      if (opts.includeSkips)
        for (const r of p.rules)
          out.push({
            policy: p.name,
            rule: r.name,
            result: 'skip',
            message: 'policy does not match this VM or operation',
            actions,
          });
      continue;
    }
    for (const r of p.rules) {
      if (ctx.operation === 'DELETE' && !r.onDelete) continue;
      const v = r.check(ctx);
      if (!v) {
        out.push({ policy: p.name, rule: r.name, result: 'pass', message: '', actions });
        continue;
      }
      const ex = exceptions.find((e) => exceptionApplies(e, p.name, r.name, ctx, now));
      if (ex) {
        out.push({
          policy: p.name,
          rule: r.name,
          result: 'skip',
          message: `${v.message} (waived by exception ${ex.metadata.namespace}/${ex.metadata.name}: ${ex.spec.reason})`,
          actions,
          exception: `${ex.metadata.namespace}/${ex.metadata.name}`,
        });
        continue;
      }
      const result: Result = v.error
        ? 'error'
        : actions.includes('Warn') && !actions.includes('Deny')
          ? 'warn'
          : 'fail';
      out.push({
        policy: p.name,
        rule: r.name,
        result,
        message: v.message,
        actions,
        ...(v.code ? { code: v.code } : {}),
      });
    }
  }
  return out;
}

export interface AdmissionVerdict {
  denials: { message: string; code: number }[];
  warnings: string[];
  audits: RuleResult[];
  exceptionsUsed: RuleResult[];
}

/** What the validating webhook does with the results: deny, warn, audit (as in VAP bindings). */
export function admissionVerdict(results: readonly RuleResult[]): AdmissionVerdict {
  const v: AdmissionVerdict = { denials: [], warnings: [], audits: [], exceptionsUsed: [] };
  for (const r of results) {
    if (r.exception) v.exceptionsUsed.push(r);
    if (r.result !== 'fail' && r.result !== 'warn' && r.result !== 'error') continue;
    const text = `policy "${r.policy}" rule ${r.rule}: ${r.message}`;
    // A runtime error counts as a violation: guardrails fail closed.
    if (r.actions.includes('Deny')) v.denials.push({ message: text, code: r.code ?? 403 });
    if (r.actions.includes('Warn')) v.warnings.push(text);
    if (r.actions.includes('Audit')) v.audits.push(r);
  }
  return v;
}
