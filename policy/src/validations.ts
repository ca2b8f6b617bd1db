// A policy's CEL validations as rules: compiled once, evaluated over the ValidatingAdmissionPolicy
// variables, with the validation's message, messageExpression and reason.
import type { VirtualMachinePolicy } from '../../api/generated/types.ts';
import { celRuntimeError, compileCel, type CelProgram } from './cel.ts';
import { celRuleName } from './names.ts';
import type { CompiledRule, EvalContext } from './types.ts';

const REASON_CODES: Record<string, number> = { Forbidden: 403, Invalid: 422, Unauthorized: 401 };

/** The CEL variables; absent ones are null, as in ValidatingAdmissionPolicy. */
function celVars(ctx: EvalContext): Record<string, unknown> {
  return {
    object: ctx.object ?? null,
    oldObject: ctx.oldObject ?? null,
    request: ctx.request,
    namespaceObject: ctx.namespaceObject ?? null,
    vmClass: ctx.vmClass ?? null,
    image: ctx.image ?? null,
  };
}

export function celRules(policy: VirtualMachinePolicy, errors: string[]): CompiledRule[] {
  const out: CompiledRule[] = [];
  for (const [i, v] of (policy.spec.validations ?? []).entries()) {
    const name = celRuleName(v, i);
    const compiled = compileCel(v.expression);
    if (!compiled.ok) {
      errors.push(`spec.validations[${i}].expression: ${compiled.error}`);
      continue;
    }
    let messageProgram: CelProgram | undefined;
    if (v.messageExpression) {
      const m = compileCel(v.messageExpression);
      if (!m.ok) errors.push(`spec.validations[${i}].messageExpression: ${m.error}`);
      else messageProgram = m.program;
    }
    const code = REASON_CODES[v.reason ?? 'Forbidden'] ?? 403;
    out.push({
      name,
      onDelete: true,
      check: (ctx) => {
        const vars = celVars(ctx);
        let value: unknown;
        try {
          value = compiled.program.run(vars);
        } catch (e) {
          return {
            message: `expression could not be evaluated: ${celRuntimeError(e, v.expression)}`,
            error: true,
            code,
          };
        }
        if (value === true) return undefined;
        if (value !== false)
          return {
            message: `expression returned ${typeof value}, not a bool: ${v.expression}`,
            error: true,
            code,
          };
        let message = v.message ?? `failed: ${v.expression}`;
        if (messageProgram) {
          try {
            const m = messageProgram.run(vars);
            if (typeof m === 'string' && m.trim()) message = m;
          } catch {
            /* keep the static message, as Kubernetes does */
          }
        }
        return { message, code };
      },
    });
  }
  return out;
}
