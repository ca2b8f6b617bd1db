// Compiling policies: built-in rules become rule functions, CEL validations are compiled in the
// CEL engine, once per policy generation.
import type { VirtualMachinePolicy } from '../../api/generated/types.ts';
import type { CelEvaluator } from './kcel.ts';
import { builtinRules } from './rules.ts';
import type { CompiledPolicy } from './types.ts';
import { compileCelRules, ruleKeys } from './validations.ts';

/** A stored policy, compiled for evaluation. */
export async function compilePolicy(
  engine: CelEvaluator,
  policy: VirtualMachinePolicy,
): Promise<CompiledPolicy> {
  const cel = await compileCelRules(engine, policy, 'stored');
  return {
    name: policy.metadata.name ?? '',
    generation: policy.metadata.generation ?? 0,
    policy,
    rules: builtinRules(policy.spec.rules ?? {}),
    cel: cel.rules,
    errors: cel.errors,
    warnings: cel.warnings,
  };
}

/**
 * Compiles once per policy generation, as policies change rarely and requests are many, and lets
 * the engine forget the expressions of policies that changed or went.
 */
export class PolicyCompiler {
  private readonly cache = new Map<string, Promise<CompiledPolicy>>();
  private liveKeys = '';

  constructor(
    readonly engine: CelEvaluator,
    /** The time budget for all policies' CEL on one request (evaluatePolicies' default if unset). */
    readonly celTimeBudgetMs?: number,
  ) {}

  async compiled(policies: readonly VirtualMachinePolicy[]): Promise<CompiledPolicy[]> {
    const live = new Set<string>();
    const pending = policies.map((p) => {
      // A policy's rules change with its spec, that is its generation: a status write (the audit's
      // results) does not recompile. Objects without a generation (offline files) key on their spec.
      const id = p.metadata.uid ?? p.metadata.name;
      const key =
        p.metadata.generation !== undefined
          ? `${id}/${p.metadata.generation}`
          : `${id}/${JSON.stringify(p.spec)}`;
      live.add(key);
      let c = this.cache.get(key);
      if (!c) {
        c = compilePolicy(this.engine, p);
        // A failed compile (the engine went away) is tried again next time.
        c.catch(() => this.cache.delete(key));
        this.cache.set(key, c);
      }
      return c;
    });
    let dropped = false;
    for (const k of this.cache.keys())
      if (!live.has(k)) {
        this.cache.delete(k);
        dropped = true;
      }
    const out = await Promise.all(pending);
    if (dropped) {
      const keys = out.flatMap((c) => ruleKeys(c.cel));
      const joined = JSON.stringify(keys);
      if (joined !== this.liveKeys) {
        this.liveKeys = joined;
        await this.engine.retain(keys);
      }
    }
    return out;
  }

  get size(): number {
    return this.cache.size;
  }
}
