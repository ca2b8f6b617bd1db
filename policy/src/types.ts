// The policy engine's types: what a rule looks at (EvalContext), what it says (RuleResult), and
// what a compiled policy holds.
import type { V1Namespace } from '@kubernetes/client-node';
import type {
  VirtualMachine,
  VirtualMachineClass,
  VirtualMachinePolicy,
} from '../../api/generated/types.ts';
import type { AnyImage } from '../../kube/src/lookups.ts';

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

/** What a policy evaluation is about: a VM (every rule and CEL) or a VirtualMachineService. */
export type SubjectKind = 'VirtualMachine' | 'VirtualMachineService';

/**
 * The fields of a VirtualMachineService (vmplane.io/v1alpha1) the policy engine reads; the kind's
 * own API lives in api/src/v1alpha1. An absent type is ClusterIP, as for a Service.
 */
export interface VirtualMachineServiceLike {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: {
    type?: string;
    selector?: Record<string, string>;
    ports?: { name?: string; protocol?: string; port: number; nodePort?: number }[];
  };
}

export interface EvalContext {
  operation: Operation;
  /** What the request is about; absent: a VirtualMachine (object, oldObject). */
  kind?: SubjectKind;
  /** The VirtualMachineService under admission, when kind is VirtualMachineService. */
  service?: VirtualMachineServiceLike;
  object?: VirtualMachine;
  oldObject?: VirtualMachine;
  request: {
    operation: Operation;
    namespace: string;
    name: string;
    userInfo: { username?: string; groups?: string[] };
    dryRun: boolean;
  };
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
  /** For an error: the limit that ran out (the CEL cost budget, or the request's time budget). */
  limit?: 'cost' | 'time';
  /** The policy's spec.failurePolicy is Ignore: an evaluation error admits (logged and audited). */
  ignoreError?: true;
}

export interface Violation {
  message: string;
  error?: boolean;
  code?: number;
  /** An evaluation error because a limit ran out: the cost budget or the request's time budget. */
  limit?: 'cost' | 'time';
}

export interface CompiledRule {
  name: string;
  /** Undefined when the rule holds. */
  check(ctx: EvalContext): Violation | undefined;
  /** Built-in rules look at the VM; CEL rules also run on DELETE. */
  onDelete: boolean;
  /** What the rule checks; absent: VirtualMachines. */
  kind?: SubjectKind;
}

/** A CEL validation, compiled in the CEL engine; evaluated there with the others of a request. */
export interface CelRule {
  name: string;
  expression: string;
  messageExpression?: string;
  message?: string;
  /** HTTP code for a denial (from the validation's reason). */
  code: number;
}

export interface CompiledPolicy {
  name: string;
  generation: number;
  policy: VirtualMachinePolicy;
  /** Built-in rules, checked here. */
  rules: CompiledRule[];
  /** CEL validations, after the built-in rules, in their order. */
  cel: CelRule[];
  /** CEL that did not compile: `spec.validations[1].expression: ... at line 1, column 4`. */
  errors: string[];
  /** CEL that compiles but fails the type check against the schemas. */
  warnings: string[];
}

/** The VM a rule looks at: the new object, or on DELETE the one being deleted. */
export const subject = (ctx: EvalContext): VirtualMachine | undefined =>
  ctx.kind === 'VirtualMachineService' ? undefined : (ctx.object ?? ctx.oldObject);

/** The kind of what a request is about (a VM unless it says otherwise). */
export const subjectKind = (ctx: EvalContext): SubjectKind => ctx.kind ?? 'VirtualMachine';

/**
 * The metadata of what the request is about, VM or VirtualMachineService: the policy's
 * vmSelector and an exception's vmNames and vmSelector select by it.
 */
export const subjectMetadata = (
  ctx: EvalContext,
): VirtualMachineServiceLike['metadata'] | undefined =>
  ctx.kind === 'VirtualMachineService' ? ctx.service?.metadata : subject(ctx)?.metadata;
