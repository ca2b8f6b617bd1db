// Compiling policies: built-in rules and CEL validations become rule functions, once per policy
// generation.
import type { VirtualMachinePolicy } from '../../api/generated/types.ts';
import { builtinRules } from './rules.ts';
import type { CompiledPolicy } from './types.ts';
import { celRules } from './validations.ts';

export function compilePolicy(policy: VirtualMachinePolicy): CompiledPolicy {
  const errors: string[] = [];
  const rules = [...builtinRules(policy.spec.rules ?? {}), ...celRules(policy, errors)];
  return {
    name: policy.metadata.name ?? '',
    generation: policy.metadata.generation ?? 0,
    policy,
    rules,
    errors,
  };
}

/** Compiles once per policy generation, as policies change rarely and requests are many. */
export class PolicyCompiler {
  private readonly cache = new Map<string, CompiledPolicy>();

  compiled(policies: readonly VirtualMachinePolicy[]): CompiledPolicy[] {
    const live = new Set<string>();
    const out = policies.map((p) => {
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
        c = compilePolicy(p);
        this.cache.set(key, c);
      }
      return c;
    });
    for (const k of this.cache.keys()) if (!live.has(k)) this.cache.delete(k);
    return out;
  }

  get size(): number {
    return this.cache.size;
  }
}
