// A policy's CEL validations: compiled by the Kubernetes CEL engine (once per policy generation),
// evaluated together in one call per request over the ValidatingAdmissionPolicy variables, with
// the validation's message, messageExpression and reason.
import type { VirtualMachinePolicy } from '../../api/generated/types.ts';
import type { CelEvaluator, CelInputs, EnvType, ExpressionKey, Outcome } from './kcel.ts';
import { celRuleName } from './names.ts';
import type { CelRule, EvalContext, Violation } from './types.ts';

const REASON_CODES: Record<string, number> = { Forbidden: 403, Invalid: 422, Unauthorized: 401 };

/** The CEL variables; absent ones are null, as in ValidatingAdmissionPolicy. */
export function celInputs(ctx: EvalContext): CelInputs {
  return {
    object: ctx.object ?? null,
    oldObject: ctx.oldObject ?? null,
    request: ctx.request,
    namespaceObject: ctx.namespaceObject ?? null,
    vmClass: ctx.vmClass ?? null,
    image: ctx.image ?? null,
  };
}

/** What compiling a policy's CEL found, by field. */
export interface CelProblems {
  /** Refusals: does not compile, or its estimated cost is over the per-expression limit. */
  errors: string[];
  /** Type errors against the schemas (the expression fails at run time where it reaches them). */
  warnings: string[];
}

type Validation = NonNullable<VirtualMachinePolicy['spec']['validations']>[number];

/** The expressions a validation compiles (its message expression too). */
function expressionsOf(v: Validation): { field: string; text: string; kind: 'bool' | 'string' }[] {
  return [
    { field: 'expression', text: v.expression, kind: 'bool' },
    ...(v.messageExpression
      ? [{ field: 'messageExpression', text: v.messageExpression, kind: 'string' as const }]
      : []),
  ];
}

/**
 * Compiles a policy's validations. 'stored' (evaluation) only refuses what does not compile;
 * 'new' (admitting a policy) also refuses an expression whose estimated worst-case cost is over
 * the per-expression limit, and an expression unchanged from `old` compiles as stored, as the API
 * server does for ValidatingAdmissionPolicy updates.
 */
export async function compileCelRules(
  engine: CelEvaluator,
  policy: VirtualMachinePolicy,
  env: EnvType,
  old?: VirtualMachinePolicy,
): Promise<{ rules: CelRule[] } & CelProblems> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const rules: CelRule[] = [];
  const unchanged = new Set(
    (old?.spec.validations ?? []).flatMap((v) => expressionsOf(v).map((e) => e.text)),
  );
  const limit = engine.limits.perCallLimit;
  const validations = policy.spec.validations ?? [];
  const checked = await Promise.all(
    validations.map((v) =>
      Promise.all(
        expressionsOf(v).map(async (e) => ({
          ...e,
          result: await engine.check(
            e.text,
            e.kind,
            env === 'new' && unchanged.has(e.text) ? 'stored' : env,
          ),
        })),
      ),
    ),
  );
  for (const [i, v] of validations.entries()) {
    let ok = true;
    let messageOk = true;
    for (const e of checked[i] ?? []) {
      const field = `spec.validations[${i}].${e.field}`;
      const r = e.result;
      if (r.error !== undefined) {
        errors.push(`${field}: ${r.error}`);
        // A message expression that does not compile leaves the static message.
        if (e.kind === 'string') messageOk = false;
        else ok = false;
        continue;
      }
      if (r.warning) warnings.push(`${field}: ${r.warning}`);
      if (env === 'new' && r.maxCost !== undefined && r.maxCost > limit) {
        errors.push(
          `${field}: estimated cost ${r.maxCost} exceeds the per-expression limit of ${limit}; ` +
            'bound the lists and strings it walks (maxItems, maxLength in the schema, or size() checks first) or walk fewer of them',
        );
        ok = false;
      }
    }
    if (!ok) continue;
    rules.push({
      name: celRuleName(v, i),
      expression: v.expression,
      ...(v.messageExpression && messageOk ? { messageExpression: v.messageExpression } : {}),
      ...(v.message ? { message: v.message } : {}),
      code: REASON_CODES[v.reason ?? 'Forbidden'] ?? 403,
    });
  }
  return { rules, errors, warnings };
}

/** The engine cache keys of compiled rules, for CelEvaluator.retain. */
export function ruleKeys(rules: readonly CelRule[]): ExpressionKey[] {
  return rules.flatMap((r) => [
    [r.expression, 'bool', 'stored'] as const,
    ...(r.messageExpression ? [[r.messageExpression, 'string', 'stored'] as const] : []),
  ]);
}

/** What one validation's outcome means: undefined when it holds. */
/** The largest message expression result the API server uses (5 KiB); a longer one falls back. */
const MAX_MESSAGE_EXPRESSION_BYTES = 5 * 1024;

/**
 * A message expression's result as the API server uses it: trimmed, unless it is blank, holds a
 * line break or is longer than 5 KiB; then the validation's message is used instead.
 */
function messageOf(rule: CelRule, msg: string | undefined): string {
  const m = msg?.trim();
  if (m && !m.includes('\n') && Buffer.byteLength(m) <= MAX_MESSAGE_EXPRESSION_BYTES) return m;
  return rule.message ?? `failed: ${rule.expression}`;
}

export function celViolation(rule: CelRule, o: Outcome): Violation | undefined {
  if (o.v === true) return undefined;
  if (o.v === false)
    return {
      message: messageOf(rule, o.msg),
      code: rule.code,
    };
  return {
    message: `expression could not be evaluated: ${o.err ?? 'no result'}`,
    error: true,
    code: rule.code,
    ...(o.budget ? { limit: 'cost' as const } : o.timeout ? { limit: 'time' as const } : {}),
  };
}
