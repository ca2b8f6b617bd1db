// Evaluation: every matching policy's rules over one context, exceptions applied, and what the
// validating webhook does with the results (deny, warn, audit, as in VAP bindings).
import type {
  VirtualMachinePolicy,
  VirtualMachinePolicyException,
} from '../../api/generated/types.ts';
import { exceptionApplies } from './exceptions.ts';
import { policyMatches } from './match.ts';
import type { CelEvaluator, Outcome } from './kcel.ts';
import {
  subjectKind,
  type Action,
  type CompiledPolicy,
  type CompiledRule,
  type EvalContext,
  type Result,
  type RuleResult,
  type SubjectKind,
  type Violation,
} from './types.ts';
import { celInputs, celViolation } from './validations.ts';

export interface EvaluateOptions {
  now?: number;
  /** Report `skip` for every rule of a policy that does not match (the CLI and reports want them). */
  includeSkips?: boolean;
  /** Evaluating existing objects rather than a request (the audit). */
  background?: boolean;
  /**
   * How long the CEL of all policies may take on this request, in milliseconds of evaluation
   * (time waiting for a free worker does not count); what runs past it is an error (a Deny policy
   * then denies). Default DEFAULT_CEL_TIME_BUDGET_MS.
   */
  celTimeBudgetMs?: number;
  /**
   * Rules not to evaluate, by policy name: those the API server enforces (nativeRulesInForce).
   * They are left out of the results, as if the policy did not have them.
   */
  skipRules?: ReadonlyMap<string, ReadonlySet<string>>;
}

/**
 * The rules of a policy that a generated ValidatingAdmissionPolicy enforces right now: those of
 * status.enforcement.native, but only while it was written for the policy's current generation
 * (a changed policy is evaluated whole by the webhook until the controllers caught up: twice for a
 * moment rather than never).
 */
export function nativeRulesInForce(policy: VirtualMachinePolicy): ReadonlySet<string> {
  const e = policy.status?.enforcement;
  const g = policy.metadata.generation;
  if (!e?.native?.length || g === undefined || e.observedGeneration !== g) return new Set();
  return new Set(e.native);
}

/** The policy without the rules in `skip` (the same object when there are none). */
function without(p: CompiledPolicy, skip: ReadonlySet<string> | undefined): CompiledPolicy {
  if (!skip?.size) return p;
  return {
    ...p,
    rules: p.rules.filter((r) => !skip.has(r.name)),
    cel: p.cel.filter((r) => !skip.has(r.name)),
  };
}

/**
 * The policies with only the rules that check objects of `kind`: on a VirtualMachineService the
 * service rules (CEL validations are written for VMs), on a VM every other rule.
 */
function forKind(
  policies: readonly CompiledPolicy[],
  kind: SubjectKind,
): readonly CompiledPolicy[] {
  const of = (r: CompiledRule): boolean => (r.kind ?? 'VirtualMachine') === kind;
  if (kind === 'VirtualMachine' && policies.every((p) => p.rules.every(of))) return policies;
  return policies.map((p) => ({
    ...p,
    rules: p.rules.filter(of),
    cel: kind === 'VirtualMachine' ? p.cel : [],
  }));
}

/**
 * The default time budget for all policies' CEL on one request. Typical expressions take
 * microseconds; this bounds what an expensive one can hold up an admission, well inside the API
 * server's webhook timeout.
 */
export const DEFAULT_CEL_TIME_BUDGET_MS = 30;

/** What a policy's rules came to, before exceptions: undefined where the rule holds. */
type Checked = { rule: string; violation: Violation | undefined }[];

/** Runs every matching policy's CEL in one engine call; an engine failure is every rule's error. */
async function celChecks(
  engine: CelEvaluator,
  policies: readonly CompiledPolicy[],
  ctx: EvalContext,
  budgetMs: number,
): Promise<Checked[]> {
  const plan = policies.map((p) =>
    p.cel.map((r) => ({
      e: r.expression,
      ...(r.messageExpression ? { m: r.messageExpression } : {}),
    })),
  );
  if (!plan.some((steps) => steps.length > 0)) return policies.map(() => []);
  let outcomes: Outcome[][];
  try {
    outcomes = await engine.evaluate(celInputs(ctx), plan, budgetMs);
  } catch (e) {
    const message = `expression could not be evaluated: ${(e as Error).message}`;
    return policies.map((p) =>
      p.cel.map((r) => ({ rule: r.name, violation: { message, error: true, code: r.code } })),
    );
  }
  return policies.map((p, i) =>
    p.cel.map((r, j) => ({
      rule: r.name,
      violation: celViolation(r, outcomes[i]?.[j] ?? { cost: 0, err: 'no result' }),
    })),
  );
}

export async function evaluatePolicies(
  engine: CelEvaluator,
  compiled: readonly CompiledPolicy[],
  exceptions: readonly VirtualMachinePolicyException[],
  ctx: EvalContext,
  opts: EvaluateOptions = {},
): Promise<RuleResult[]> {
  const now = opts.now ?? Date.now();
  const skip = opts.skipRules;
  const policies = forKind(
    skip?.size ? compiled.map((p) => without(p, skip.get(p.name))) : compiled,
    subjectKind(ctx),
  );
  const matching = policies.filter((p) => policyMatches(p.policy, ctx, opts.background));
  const budgetMs = opts.celTimeBudgetMs ?? DEFAULT_CEL_TIME_BUDGET_MS;
  const cel = await celChecks(engine, matching, ctx, budgetMs);
  const out: RuleResult[] = [];
  for (const p of policies) {
    const actions = [...(p.policy.spec.validationActions ?? [])] as Action[];
    const ignore = p.policy.spec.failurePolicy === 'Ignore';
    const m = matching.indexOf(p);
    if (m < 0) {
      if (opts.includeSkips)
        for (const name of [...p.rules.map((r) => r.name), ...p.cel.map((r) => r.name)])
          out.push({
            policy: p.name,
            rule: name,
            result: 'skip',
            message: 'policy does not match this object or operation',
            actions,
          });
      continue;
    }
    const checked: Checked = [
      ...p.rules
        .filter((r) => ctx.operation !== 'DELETE' || r.onDelete)
        .map((r) => ({ rule: r.name, violation: r.check(ctx) })),
      ...(cel[m] ?? []),
    ];
    for (const { rule, violation: v } of checked) {
      if (!v) {
        out.push({ policy: p.name, rule, result: 'pass', message: '', actions });
        continue;
      }
      const ex = exceptions.find((e) => exceptionApplies(e, p.name, rule, ctx, now));
      if (ex) {
        out.push({
          policy: p.name,
          rule,
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
        rule,
        result,
        message: v.message,
        actions,
        ...(v.code ? { code: v.code } : {}),
        ...(v.limit ? { limit: v.limit } : {}),
        ...(v.error && ignore ? { ignoreError: true as const } : {}),
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
    // failurePolicy Ignore: an evaluation error admits; it is only recorded (decision log, audit).
    if (r.result === 'error' && r.ignoreError) {
      v.audits.push({ ...r, message: `${r.message} (failurePolicy Ignore admits)` });
      continue;
    }
    // A runtime error counts as a violation: guardrails fail closed, and say so.
    if (r.actions.includes('Deny'))
      v.denials.push({
        message: r.result === 'error' ? `${text} (Deny fails closed on an evaluation error)` : text,
        code: r.code ?? 403,
      });
    if (r.actions.includes('Warn')) v.warnings.push(text);
    if (r.actions.includes('Audit')) v.audits.push(r);
  }
  return v;
}
