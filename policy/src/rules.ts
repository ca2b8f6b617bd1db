// The built-in rules of VirtualMachinePolicy.spec.rules, each a named function of the rule's
// setting, the evaluation context and the VM. A rule returns a Violation, or undefined when the
// VM complies. builtinRules() turns a policy's settings into compiled rules, in this file's order.
import picomatch from 'picomatch';
import type { VirtualMachine, VirtualMachinePolicy } from '../../api/generated/types.ts';
import { isQuantity, parseQuantity, Quantity } from '../../api/src/quantity.ts';
import { matchesSelector, type LabelSelector } from '../../api/src/selectors.ts';
import { subject, type CompiledRule, type EvalContext, type Violation } from './types.ts';
import { reservationOf } from '../../api/src/wellknown.ts';
import { serviceRules, type ServiceRule } from './service-rules.ts';

export type Rules = NonNullable<VirtualMachinePolicy['spec']['rules']>;
/** The rules that look at VMs (the others, in service-rules.ts, at VirtualMachineServices). */
type VmRules = Omit<Rules, ServiceRule>;
type Rule<K extends keyof VmRules> = (
  setting: NonNullable<VmRules[K]>,
  ctx: EvalContext,
  vm: VirtualMachine,
) => Violation | undefined;

function quantityOf(s: string | undefined): Quantity | undefined {
  return s && isQuantity(s) ? parseQuantity(s) : undefined;
}

const classLabel = (ctx: EvalContext): string =>
  `class "${ctx.vmClass?.metadata.name ?? subject(ctx)?.spec.className ?? '(none)'}"`;

export const allowedClasses: Rule<'allowedClasses'> = (a, ctx, vm) => {
  const c = ctx.vmClass;
  if (!c)
    return {
      message: `class "${vm.spec.className ?? '(none)'}" could not be resolved, so it cannot be checked against the allowed classes`,
    };
  const byName = a.names?.includes(c.metadata.name ?? '') ?? false;
  const bySelector = a.selector
    ? matchesSelector(a.selector as LabelSelector, c.metadata.labels)
    : false;
  const named = a.names !== undefined || a.selector !== undefined;
  if (named && !byName && !bySelector) {
    const allowed = [
      ...(a.names ?? []),
      ...(a.selector ? ["classes matching the policy's selector"] : []),
    ];
    return { message: `class "${c.metadata.name}" is not allowed; allowed: ${allowed.join(', ')}` };
  }
  const reservation = reservationOf(c);
  if (a.reservations && !a.reservations.includes(reservation)) {
    return {
      message: `class "${c.metadata.name}" is ${reservation}; only ${a.reservations.join(' or ')} classes are allowed`,
    };
  }
  return undefined;
};

const compiledPatterns = new WeakMap<
  readonly string[],
  { withKind: boolean; match: (s: string) => boolean }[]
>();

/**
 * The matchers of a policy's allowedImages, compiled once per policy generation (the settings
 * array lives as long as the compiled policy), not once per evaluation: a long name against
 * several wildcards costs a compile each time otherwise.
 */
export function imageMatchers(
  patterns: readonly string[],
): { withKind: boolean; match: (s: string) => boolean }[] {
  let m = compiledPatterns.get(patterns);
  if (!m) {
    m = patterns.map((p) => ({ withKind: p.includes('/'), match: picomatch(p) }));
    compiledPatterns.set(patterns, m);
  }
  return m;
}

export const allowedImages: Rule<'allowedImages'> = (patterns, ctx, vm) => {
  if (!vm.spec.image) return undefined; // boots from a disk: nothing to check
  const name = vm.spec.image.name;
  const kind = ctx.image?.kind ?? vm.spec.image.kind ?? 'VirtualMachineImage';
  const ok = imageMatchers(patterns).some((p) => p.match(p.withKind ? `${kind}/${name}` : name));
  return ok
    ? undefined
    : {
        message: `image "${name}" is not in the approved library; allowed: ${patterns.join(', ')}`,
      };
};

export const maxCPUs: Rule<'maxCPUs'> = (max, ctx) => {
  const cpus = ctx.vmClass?.spec.hardware.cpus;
  if (cpus === undefined)
    return { message: `${classLabel(ctx)} could not be resolved, so its vCPUs cannot be checked` };
  return cpus > max
    ? { message: `${cpus} vCPUs (${classLabel(ctx)}) exceed the maximum of ${max}` }
    : undefined;
};

export const maxMemory: Rule<'maxMemory'> = (max, ctx) => {
  const mem = ctx.vmClass?.spec.hardware.memory;
  const q = quantityOf(mem);
  if (!q)
    return { message: `${classLabel(ctx)} could not be resolved, so its memory cannot be checked` };
  return q.compareTo(parseQuantity(max)) > 0
    ? { message: `memory ${mem} (${classLabel(ctx)}) exceeds the maximum of ${max}` }
    : undefined;
};

export const maxDisks: Rule<'maxDisks'> = (max, ctx) => {
  const n = ctx.disks.length;
  return n > max ? { message: `${n} disks exceed the maximum of ${max}` } : undefined;
};

export const maxTotalDiskSize: Rule<'maxTotalDiskSize'> = (max, ctx) => {
  let total = new Quantity(0n, '0');
  const unknown: string[] = [];
  for (const d of ctx.disks) {
    const q = quantityOf(d.size);
    if (q) total = total.add(q);
    else unknown.push(d.field);
  }
  if (unknown.length)
    return {
      message: `the size of ${unknown.join(', ')} is not known, so the total cannot be checked`,
    };
  const shown = ctx.disks.map((d) => d.size).join(' + ');
  return total.compareTo(parseQuantity(max)) > 0
    ? { message: `disks total ${shown || '0'}, more than the maximum of ${max}` }
    : undefined;
};

export const allowedStorageClasses: Rule<'allowedStorageClasses'> = (allowed, ctx) => {
  const bad = ctx.disks.filter((d) => d.storageClassName && !allowed.includes(d.storageClassName));
  if (!bad.length) return undefined;
  return {
    message: `${bad.map((d) => `${d.field} uses storage class "${d.storageClassName}"`).join(', ')}; allowed: ${allowed.join(', ')}`,
  };
};

/** The name allowedNetworks gives the pod network (an interface without `network`). */
export const POD_NETWORK = 'pod';

/**
 * Why each interface of a VM is on a network allowedNetworks refuses, in the words of its message:
 * the field, the value and the interface. An interface names a Network (cluster-scoped) or, when
 * no Network has that name, a NetworkAttachmentDefinition of the VM's namespace: either way the
 * rule compares the name the VM writes. No interface (spec.network.interfaces omitted) is one
 * interface, default, on the pod network.
 */
export function networkProblems(allowed: readonly string[], vm: VirtualMachine): string[] {
  const ok = (n: string): boolean => imageMatchers(allowed).some((p) => p.match(n));
  const ifaces = vm.spec.network?.interfaces;
  if (!ifaces)
    return ok(POD_NETWORK)
      ? []
      : [
          `spec.network.interfaces: omitted, so the VM's one interface is on the pod network ("pod"), which is not allowed`,
        ];
  const out: string[] = [];
  for (const [k, i] of ifaces.entries()) {
    if (ok(i.network ?? POD_NETWORK)) continue;
    out.push(
      i.network === undefined
        ? `spec.network.interfaces[${k}]: interface ${i.name} is on the pod network ("pod"), which is not allowed`
        : `spec.network.interfaces[${k}].network: "${i.network}" (interface ${i.name}) is not allowed`,
    );
  }
  return out;
}

/** allowedNetworks: names or globs (* and ?) of networks; `pod` is the pod network. */
export const allowedNetworks: Rule<'allowedNetworks'> = (allowed, _ctx, vm) => {
  const bad = networkProblems(allowed, vm);
  return bad.length ? { message: `${bad.join('; ')}; allowed: ${allowed.join(', ')}` } : undefined;
};

type Requirement = { key: string; values?: string[] };

function required(
  field: 'labels' | 'annotations',
  reqs: Requirement[],
  vm: VirtualMachine,
): Violation | undefined {
  const have = (vm.metadata[field] ?? {}) as Record<string, string>;
  const what = field.slice(0, -1);
  const problems: string[] = [];
  for (const req of reqs) {
    // Own keys only: a key such as "constructor" must not find an Object.prototype member.
    const v = Object.hasOwn(have, req.key) ? have[req.key] : undefined;
    if (v === undefined) problems.push(`${what} ${req.key} is required`);
    else if (req.values && !req.values.includes(v))
      problems.push(`${what} ${req.key}="${v}" must be one of ${req.values.join(', ')}`);
  }
  return problems.length ? { message: problems.join('; ') } : undefined;
}

export const requiredLabels: Rule<'requiredLabels'> = (reqs, _ctx, vm) =>
  required('labels', reqs, vm);
export const requiredAnnotations: Rule<'requiredAnnotations'> = (reqs, _ctx, vm) =>
  required('annotations', reqs, vm);

export const allowGPUs: Rule<'allowGPUs'> = (allow, ctx) => {
  if (allow) return undefined;
  const d = ctx.vmClass?.spec.hardware.devices;
  const n = (d?.gpus?.length ?? 0) + (d?.hostDevices?.length ?? 0);
  return n > 0
    ? { message: `${classLabel(ctx)} has GPUs or passthrough devices, which are not allowed here` }
    : undefined;
};

export const allowedPowerStates: Rule<'allowedPowerStates'> = (allowed, _ctx, vm) => {
  const state = vm.spec.powerState ?? 'PoweredOn';
  return allowed.includes(state)
    ? undefined
    : { message: `power state ${state} is not allowed; allowed: ${allowed.join(', ')}` };
};

/** Every built-in rule by its field in spec.rules, in the order results are reported. */
const BUILTIN: { [K in keyof VmRules]-?: Rule<K> } = {
  allowedClasses,
  allowedImages,
  maxCPUs,
  maxMemory,
  maxDisks,
  maxTotalDiskSize,
  allowedStorageClasses,
  allowedNetworks,
  requiredLabels,
  requiredAnnotations,
  allowGPUs,
  allowedPowerStates,
};

/**
 * The built-in rules a policy sets, compiled: those for VMs, then those for VirtualMachineServices.
 * They look at the object, so they do not run on DELETE.
 */
export function builtinRules(rules: Rules): CompiledRule[] {
  const out: CompiledRule[] = [];
  for (const name of Object.keys(BUILTIN) as (keyof VmRules)[]) {
    const setting = rules[name];
    if (setting === undefined) continue;
    const rule = BUILTIN[name] as Rule<typeof name>;
    out.push({
      name,
      onDelete: false,
      check: (ctx) => {
        const vm = subject(ctx);
        return vm ? rule(setting as never, ctx, vm) : undefined;
      },
    });
  }
  return [...out, ...serviceRules(rules)];
}
