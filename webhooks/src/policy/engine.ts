// The policy engine: one implementation for the validating webhook, the background audit and the
// offline CLI. Policies compile once into rule functions; evaluation is pure over an EvalContext
// (the VM, the request and what it resolves to: namespace, class, image, disks).
import type { V1Namespace } from '@kubernetes/client-node';
import picomatch from 'picomatch';
import type {
  VirtualMachine,
  VirtualMachineClass,
  VirtualMachinePolicy,
  VirtualMachinePolicyException,
} from '../../../api/generated/types.ts';
import { isQuantity, parseQuantity, Quantity } from '../../../api/src/quantity.ts';
import { matchesSelector, type LabelSelector } from '../decisions/selectors.ts';
import { findImage, type AnyImage, type ImageKind, type Lookups } from '../lookups.ts';
import { celRuntimeError, compileCel, type CelProgram } from './cel.ts';

export type Action = 'Deny' | 'Warn' | 'Audit';
export type Result = 'pass' | 'fail' | 'warn' | 'skip' | 'error';
export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface ResolvedDisk {
  /** Where the disk is declared: spec.bootDisk, spec.disks[i]. */
  field: string;
  size?: string;
  storageClassName?: string;
  accessModes?: string[];
  /** Existing VirtualMachineDisk, when the VM references one. */
  diskName?: string;
}

export interface EvalContext {
  operation: Operation;
  object?: VirtualMachine;
  oldObject?: VirtualMachine;
  request: { operation: Operation; namespace: string; name: string; userInfo: { username?: string; groups?: string[] }; dryRun: boolean };
  namespaceObject?: V1Namespace;
  vmClass?: VirtualMachineClass;
  image?: AnyImage;
  disks: ResolvedDisk[];
}

export interface RuleResult {
  policy: string;
  rule: string;
  result: Result;
  message: string;
  actions: Action[];
  /** The exception (namespace/name) that waived a violation. */
  exception?: string;
  /** HTTP code for a denial (from the CEL validation's reason). */
  code?: number;
}

interface Violation {
  message: string;
  error?: boolean;
  code?: number;
}

interface CompiledRule {
  name: string;
  /** Undefined when the rule holds. */
  check(ctx: EvalContext): Violation | undefined;
  /** Built-in rules look at the VM; CEL rules also run on DELETE. */
  onDelete: boolean;
}

export interface CompiledPolicy {
  name: string;
  generation: number;
  policy: VirtualMachinePolicy;
  rules: CompiledRule[];
  /** CEL that did not compile: `spec.validations[1].expression: ... at line 1, column 4`. */
  errors: string[];
}

/** The VM a rule looks at: the new object, or on DELETE the one being deleted. */
const subject = (ctx: EvalContext): VirtualMachine | undefined => ctx.object ?? ctx.oldObject;

function quantityOf(s: string | undefined): Quantity | undefined {
  return s && isQuantity(s) ? parseQuantity(s) : undefined;
}

type Rules = NonNullable<VirtualMachinePolicy['spec']['rules']>;

function builtinRules(rules: Rules): CompiledRule[] {
  const out: CompiledRule[] = [];
  const add = (name: keyof Rules, check: (ctx: EvalContext, vm: VirtualMachine) => Violation | undefined): void => {
    if (rules[name] === undefined) return;
    out.push({
      name,
      onDelete: false,
      check: (ctx) => {
        const vm = subject(ctx);
        return vm ? check(ctx, vm) : undefined;
      },
    });
  };
  const classLabel = (ctx: EvalContext): string => `class "${ctx.vmClass?.metadata.name ?? subject(ctx)?.spec.className ?? '(none)'}"`;

  add('allowedClasses', (ctx, vm) => {
    const a = rules.allowedClasses ?? {};
    const c = ctx.vmClass;
    if (!c) return { message: `class "${vm.spec.className ?? '(none)'}" could not be resolved, so it cannot be checked against the allowed classes` };
    const byName = a.names?.includes(c.metadata.name ?? '') ?? false;
    const bySelector = a.selector ? matchesSelector(a.selector as LabelSelector, c.metadata.labels) : false;
    const named = a.names !== undefined || a.selector !== undefined;
    if (named && !byName && !bySelector) {
      const allowed = [...(a.names ?? []), ...(a.selector ? ['classes matching the policy\'s selector'] : [])];
      return { message: `class "${c.metadata.name}" is not allowed; allowed: ${allowed.join(', ')}` };
    }
    const reservation = c.spec.reservation ?? 'BestEffort';
    if (a.reservations && !a.reservations.includes(reservation)) {
      return { message: `class "${c.metadata.name}" is ${reservation}; only ${a.reservations.join(' or ')} classes are allowed` };
    }
    return undefined;
  });

  add('allowedImages', (ctx, vm) => {
    if (!vm.spec.image) return undefined; // boots from a disk: nothing to check
    const name = vm.spec.image.name;
    const kind = ctx.image?.kind ?? vm.spec.image.kind ?? 'VirtualMachineImage';
    const ok = (rules.allowedImages ?? []).some((p) => picomatch.isMatch(p.includes('/') ? `${kind}/${name}` : name, p));
    return ok ? undefined : { message: `image "${name}" is not in the approved library; allowed: ${(rules.allowedImages ?? []).join(', ')}` };
  });

  add('maxCPUs', (ctx) => {
    const cpus = ctx.vmClass?.spec.hardware.cpus;
    if (cpus === undefined) return { message: `${classLabel(ctx)} could not be resolved, so its vCPUs cannot be checked` };
    return cpus > (rules.maxCPUs ?? 0) ? { message: `${cpus} vCPUs (${classLabel(ctx)}) exceed the maximum of ${rules.maxCPUs}` } : undefined;
  });

  add('maxMemory', (ctx) => {
    const mem = ctx.vmClass?.spec.hardware.memory;
    const q = quantityOf(mem);
    if (!q) return { message: `${classLabel(ctx)} could not be resolved, so its memory cannot be checked` };
    return q.compareTo(parseQuantity(rules.maxMemory ?? '0')) > 0 ? { message: `memory ${mem} (${classLabel(ctx)}) exceeds the maximum of ${rules.maxMemory}` } : undefined;
  });

  add('maxDisks', (ctx) => {
    const n = ctx.disks.length;
    return n > (rules.maxDisks ?? 0) ? { message: `${n} disks exceed the maximum of ${rules.maxDisks}` } : undefined;
  });

  add('maxTotalDiskSize', (ctx) => {
    let total = new Quantity(0n, '0');
    const unknown: string[] = [];
    for (const d of ctx.disks) {
      const q = quantityOf(d.size);
      if (q) total = total.add(q);
      else unknown.push(d.field);
    }
    if (unknown.length) return { message: `the size of ${unknown.join(', ')} is not known, so the total cannot be checked` };
    const max = parseQuantity(rules.maxTotalDiskSize ?? '0');
    const shown = ctx.disks.map((d) => d.size).join(' + ');
    return total.compareTo(max) > 0 ? { message: `disks total ${shown || '0'}, more than the maximum of ${rules.maxTotalDiskSize}` } : undefined;
  });

  add('allowedStorageClasses', (ctx) => {
    const allowed = rules.allowedStorageClasses ?? [];
    const bad = ctx.disks.filter((d) => d.storageClassName && !allowed.includes(d.storageClassName));
    return bad.length
      ? { message: `${bad.map((d) => `${d.field} uses storage class "${d.storageClassName}"`).join(', ')}; allowed: ${allowed.join(', ')}` }
      : undefined;
  });

  add('allowedNetworks', (_ctx, vm) => {
    const allowed = rules.allowedNetworks ?? [];
    const ifaces = vm.spec.network?.interfaces ?? [{ name: 'default' }];
    const bad = ifaces.filter((i) => !allowed.includes(i.network ?? 'pod'));
    return bad.length
      ? { message: `${bad.map((i) => `interface ${i.name} is on network "${i.network ?? 'pod'}"`).join(', ')}; allowed: ${allowed.join(', ')}` }
      : undefined;
  });

  for (const [key, field] of [
    ['requiredLabels', 'labels'],
    ['requiredAnnotations', 'annotations'],
  ] as const) {
    add(key, (_ctx, vm) => {
      const have = (vm.metadata[field] ?? {}) as Record<string, string>;
      const problems: string[] = [];
      for (const req of rules[key] ?? []) {
        const v = have[req.key];
        if (v === undefined) problems.push(`${field.slice(0, -1)} ${req.key} is required`);
        else if (req.values && !req.values.includes(v)) problems.push(`${field.slice(0, -1)} ${req.key}="${v}" must be one of ${req.values.join(', ')}`);
      }
      return problems.length ? { message: problems.join('; ') } : undefined;
    });
  }

  add('allowGPUs', (ctx) => {
    if (rules.allowGPUs) return undefined;
    const d = ctx.vmClass?.spec.hardware.devices;
    const n = (d?.gpus?.length ?? 0) + (d?.hostDevices?.length ?? 0);
    return n > 0 ? { message: `${classLabel(ctx)} has GPUs or passthrough devices, which are not allowed here` } : undefined;
  });

  add('allowedPowerStates', (_ctx, vm) => {
    const state = vm.spec.powerState ?? 'PoweredOn';
    const allowed = rules.allowedPowerStates ?? [];
    return allowed.includes(state) ? undefined : { message: `power state ${state} is not allowed; allowed: ${allowed.join(', ')}` };
  });
  return out;
}

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

function celRules(policy: VirtualMachinePolicy, errors: string[]): CompiledRule[] {
  const out: CompiledRule[] = [];
  for (const [i, v] of (policy.spec.validations ?? []).entries()) {
    const name = v.name ?? `cel-${i}`;
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
          return { message: `expression could not be evaluated: ${celRuntimeError(e, v.expression)}`, error: true, code };
        }
        if (value === true) return undefined;
        if (value !== false) return { message: `expression returned ${typeof value}, not a bool: ${v.expression}`, error: true, code };
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

export function compilePolicy(policy: VirtualMachinePolicy): CompiledPolicy {
  const errors: string[] = [];
  const rules = [...builtinRules(policy.spec.rules ?? {}), ...celRules(policy, errors)];
  return { name: policy.metadata.name ?? '', generation: policy.metadata.generation ?? 0, policy, rules, errors };
}

/** Compiles once per policy generation, as policies change rarely and requests are many. */
export class PolicyCompiler {
  private readonly cache = new Map<string, CompiledPolicy>();

  compiled(policies: readonly VirtualMachinePolicy[]): CompiledPolicy[] {
    const live = new Set<string>();
    const out = policies.map((p) => {
      const key = `${p.metadata.uid ?? p.metadata.name}/${p.metadata.generation ?? 0}/${p.metadata.resourceVersion ?? ''}`;
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

/**
 * Whether a policy applies. In the background audit (existing objects, no request) a policy
 * applies when it checks CREATE or UPDATE: the VM as it stands must still pass it.
 */
export function policyMatches(p: VirtualMachinePolicy, ctx: EvalContext, background = false): boolean {
  const ops = p.spec.match?.operations ?? ['CREATE', 'UPDATE'];
  if (background ? !ops.some((o) => o === 'CREATE' || o === 'UPDATE') : !ops.includes(ctx.operation)) return false;
  const nsLabels = ctx.namespaceObject?.metadata?.labels ?? { 'kubernetes.io/metadata.name': ctx.request.namespace };
  if (!matchesSelector(p.spec.match?.namespaceSelector as LabelSelector | undefined, nsLabels)) return false;
  return matchesSelector(p.spec.match?.vmSelector as LabelSelector | undefined, subject(ctx)?.metadata.labels);
}

/** Whether an exception waives `rule` of `policy` for the VM in ctx, now. */
export function exceptionApplies(ex: VirtualMachinePolicyException, policy: string, rule: string, ctx: EvalContext, now: number): boolean {
  const vm = subject(ctx);
  if (!vm || ex.spec.policyName !== policy) return false;
  if (ex.metadata.namespace !== vm.metadata.namespace) return false;
  if (ex.spec.expires && Date.parse(ex.spec.expires) <= now) return false;
  if (ex.spec.rules && !ex.spec.rules.includes(rule)) return false;
  const byName = ex.spec.vmNames?.includes(vm.metadata.name ?? '') ?? false;
  const bySelector = ex.spec.vmSelector ? matchesSelector(ex.spec.vmSelector as LabelSelector, vm.metadata.labels) : false;
  return byName || bySelector;
}

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
      if (opts.includeSkips) for (const r of p.rules) out.push({ policy: p.name, rule: r.name, result: 'skip', message: 'policy does not match this VM or operation', actions });
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
      const result: Result = v.error ? 'error' : actions.includes('Warn') && !actions.includes('Deny') ? 'warn' : 'fail';
      out.push({ policy: p.name, rule: r.name, result, message: v.message, actions, ...(v.code ? { code: v.code } : {}) });
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

/** Resolves everything a policy may look at for one request, from the lookups. */
export function buildContext(
  input: { operation: Operation; object?: VirtualMachine; oldObject?: VirtualMachine; namespace: string; userInfo?: { username?: string; groups?: string[] }; dryRun?: boolean },
  l: Lookups,
): EvalContext {
  const vm = input.object ?? input.oldObject;
  const ns = input.namespace || vm?.metadata.namespace || '';
  const spec = vm?.spec;
  let image: AnyImage | undefined;
  if (spec?.image) {
    const kinds: ImageKind[] = spec.image.kind ? [spec.image.kind] : ['VirtualMachineImage', 'ClusterVirtualMachineImage'];
    for (const k of kinds) image ??= findImage(l, k, ns, spec.image.name);
  }
  const disks: ResolvedDisk[] = [];
  if (spec?.image) {
    disks.push({
      field: 'spec.bootDisk',
      size: spec.bootDisk?.size ?? image?.spec.size,
      storageClassName: spec.bootDisk?.storageClassName,
      accessModes: spec.bootDisk?.accessModes,
    });
  }
  for (const [i, d] of (spec?.disks ?? []).entries()) {
    if (d.virtualMachineDiskName) {
      const existing = l.disk(ns, d.virtualMachineDiskName);
      disks.push({ field: `spec.disks[${i}]`, diskName: d.virtualMachineDiskName, size: existing?.spec.size, storageClassName: existing?.spec.storageClassName, accessModes: existing?.spec.accessModes });
    } else {
      disks.push({ field: `spec.disks[${i}]`, size: d.size, storageClassName: d.storageClassName, accessModes: d.accessModes });
    }
  }
  return {
    operation: input.operation,
    ...(input.object ? { object: input.object } : {}),
    ...(input.oldObject ? { oldObject: input.oldObject } : {}),
    request: {
      operation: input.operation,
      namespace: ns,
      name: vm?.metadata.name ?? '',
      userInfo: { username: input.userInfo?.username ?? '', groups: input.userInfo?.groups ?? [] },
      dryRun: input.dryRun ?? false,
    },
    ...(l.namespace(ns) ? { namespaceObject: l.namespace(ns) as V1Namespace } : {}),
    ...(spec?.className && l.vmClass(spec.className) ? { vmClass: l.vmClass(spec.className) as VirtualMachineClass } : {}),
    ...(image ? { image } : {}),
    disks,
  };
}
