// From an admission request to a response: which decision applies to which kind and operation,
// and the JSON Patch that turns the user's object into the defaulted one. Pure, given Lookups.
import fastJsonPatch from 'fast-json-patch';
import type { VirtualMachine, VirtualMachineDisk, VirtualMachinePolicy } from '../../api/generated/types.ts';
import { ObjectValidator } from '../../api/src/validate.ts';
import { allowed, denied, type AdmissionRequest, type AdmissionResponse } from './admission.ts';
import {
  mutateVirtualMachineDisk,
  validateClassDelete,
  validateImageDelete,
  validateVirtualMachineDisk,
} from './decisions/disk.ts';
import { mutateVirtualMachine, validateVirtualMachine, type Denial, type MutationResult, type ValidationResult } from './decisions/vm.ts';
import type { ImageKind, Lookups } from '../../kube/src/lookups.ts';
import { admissionVerdict, buildContext, compilePolicy, evaluatePolicies, PolicyCompiler, type Operation } from '../../policy/src/index.ts';

const { compare } = fastJsonPatch;
export const GROUP = 'vmplane.io';

export interface Handled {
  response: AdmissionResponse;
  /** For the decision log: what the webhook did and why. */
  outcome: 'allowed' | 'denied' | 'patched' | 'warned' | 'ignored';
  notes: string[];
}

const validator = new ObjectValidator();
/** Policies compile once per generation and are reused across requests. */
export const sharedCompiler = new PolicyCompiler();

function denialMessage(ds: Denial[]): string {
  return ds.map((d) => `${d.field}: ${d.message}`).join('; ');
}

/** The stricter code of several denials (a forbidden class beats an invalid field). */
function denialCode(ds: Denial[]): number {
  return ds.some((d) => d.code === 403) ? 403 : ds.some((d) => d.code === 409) ? 409 : (ds[0]?.code ?? 403);
}

function withMeta<T extends { apiVersion?: string; kind?: string }>(obj: Record<string, unknown>, req: AdmissionRequest): T {
  const o = obj as T & { metadata?: { namespace?: string } };
  // Namespace may be absent on CREATE (it comes from the URL); decisions need it.
  if (req.namespace && o.metadata && !o.metadata.namespace) o.metadata = { ...o.metadata, namespace: req.namespace };
  return o;
}

function patchFrom<T extends object>(req: AdmissionRequest, r: MutationResult<T>): Handled {
  if (r.denial) return { response: denied(req.uid, r.denial.code ?? 422, denialMessage([r.denial])), outcome: 'denied', notes: r.notes };
  const before = req.object as object;
  // Diff against the object as received: the namespace filled in for the decisions is not a change.
  const after = structuredClone(r.object) as { metadata?: { namespace?: string } };
  if (after.metadata && !(before as { metadata?: { namespace?: string } }).metadata?.namespace) delete after.metadata.namespace;
  const ops = compare(before, after);
  return { response: allowed(req.uid, ops), outcome: ops.length ? 'patched' : 'allowed', notes: r.notes };
}

function fromValidation(req: AdmissionRequest, v: ValidationResult): Handled {
  if (v.denials.length) {
    return { response: denied(req.uid, denialCode(v.denials), denialMessage(v.denials), v.warnings), outcome: 'denied', notes: [] };
  }
  return { response: allowed(req.uid, undefined, v.warnings), outcome: v.warnings.length ? 'warned' : 'allowed', notes: [] };
}

function ignored(req: AdmissionRequest, why: string): Handled {
  return { response: allowed(req.uid), outcome: 'ignored', notes: [why] };
}

/** The mutating webhook. */
export function handleMutation(req: AdmissionRequest, l: Lookups): Handled {
  if (req.kind.group !== GROUP || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return ignored(req, 'not mutated');
  const obj = req.object as Record<string, unknown>;
  // An object that breaks its schema is left alone: the API server's own validation, which runs
  // after mutation, refuses it with the schema's message.
  if (!validator.validate(obj).valid) return ignored(req, 'object does not match its schema; left to the API server');
  switch (req.kind.kind) {
    case 'VirtualMachine':
      return patchFrom(req, mutateVirtualMachine(withMeta<VirtualMachine>(structuredClone(obj), req), l, { creating: req.operation === 'CREATE' }));
    case 'VirtualMachineDisk':
      if (req.operation === 'UPDATE') return ignored(req, 'storage is settled at creation');
      return patchFrom(req, mutateVirtualMachineDisk(withMeta<VirtualMachineDisk>(structuredClone(obj), req), l));
    default:
      return ignored(req, `no mutation for ${req.kind.kind}`);
  }
}

/** Policies in the same validating pass: Deny denies, Warn warns, Audit and exceptions are logged. */
function withPolicies(req: AdmissionRequest, l: Lookups, compiler: PolicyCompiler, base: ValidationResult): Handled {
  const object = (req.object ?? undefined) as VirtualMachine | undefined;
  const oldObject = (req.oldObject ?? undefined) as VirtualMachine | undefined;
  const ns = req.namespace ?? object?.metadata.namespace ?? oldObject?.metadata.namespace ?? '';
  const ctx = buildContext(
    {
      operation: req.operation as Operation,
      ...(object ? { object: withMeta<VirtualMachine>(object as unknown as Record<string, unknown>, req) } : {}),
      ...(oldObject ? { oldObject } : {}),
      namespace: ns,
      userInfo: { username: req.userInfo?.username ?? '', groups: req.userInfo?.groups ?? [] },
      dryRun: req.dryRun ?? false,
    },
    l,
  );
  const results = evaluatePolicies(compiler.compiled(l.policies()), l.exceptions(ns), ctx);
  const verdict = admissionVerdict(results);
  const notes = [
    ...verdict.audits.map((r) => `audit: policy ${r.policy} rule ${r.rule}: ${r.message}`),
    ...verdict.exceptionsUsed.map((r) => `exception ${r.exception} waived policy ${r.policy} rule ${r.rule}`),
  ];
  const warnings = [...base.warnings, ...verdict.warnings];
  if (base.denials.length || verdict.denials.length) {
    const parts = [...(base.denials.length ? [denialMessage(base.denials)] : []), ...verdict.denials.map((d) => d.message)];
    const code = base.denials.length ? denialCode(base.denials) : (verdict.denials[0]?.code ?? 403);
    return { response: denied(req.uid, code, parts.join('; '), warnings), outcome: 'denied', notes };
  }
  return { response: allowed(req.uid, undefined, warnings), outcome: warnings.length ? 'warned' : 'allowed', notes };
}

/** A policy whose CEL does not compile never gets in. */
function validatePolicy(req: AdmissionRequest): Handled {
  const compiled = compilePolicy(req.object as unknown as VirtualMachinePolicy);
  if (compiled.errors.length) {
    return { response: denied(req.uid, 422, `CEL does not compile: ${compiled.errors.join('; ')}`), outcome: 'denied', notes: [] };
  }
  return { response: allowed(req.uid), outcome: 'allowed', notes: [] };
}

/** The validating webhook. */
export function handleValidation(req: AdmissionRequest, l: Lookups, compiler: PolicyCompiler = sharedCompiler): Handled {
  if (req.kind.group !== GROUP) return ignored(req, 'not a vmplane kind');
  const kind = req.kind.kind;
  if (req.operation === 'DELETE') {
    const old = (req.oldObject ?? undefined) as { metadata?: { name?: string; namespace?: string } } | undefined;
    const name = req.name ?? old?.metadata?.name ?? '';
    let d: Denial | undefined;
    if (kind === 'VirtualMachine') return withPolicies(req, l, compiler, { denials: [], warnings: [] });
    if (kind === 'VirtualMachineClass') d = validateClassDelete(name, l);
    else if (kind === 'VirtualMachineImage' || kind === 'ClusterVirtualMachineImage') {
      d = validateImageDelete(kind as ImageKind, req.namespace ?? old?.metadata?.namespace, name, l);
    } else return ignored(req, `no delete check for ${kind}`);
    return d ? { response: denied(req.uid, d.code ?? 409, d.message), outcome: 'denied', notes: [] } : { response: allowed(req.uid), outcome: 'allowed', notes: [] };
  }
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return ignored(req, `no check for ${req.operation}`);
  const obj = req.object as Record<string, unknown>;
  const schema = validator.validate(obj);
  if (!schema.valid) return { response: denied(req.uid, 422, schema.errors.join('; ')), outcome: 'denied', notes: [] };
  const old = req.oldObject ? (req.oldObject as Record<string, unknown>) : undefined;
  switch (kind) {
    case 'VirtualMachine':
      return withPolicies(req, l, compiler, validateVirtualMachine(withMeta<VirtualMachine>(obj, req), old as VirtualMachine | undefined, l));
    case 'VirtualMachineDisk':
      return fromValidation(req, validateVirtualMachineDisk(withMeta<VirtualMachineDisk>(obj, req), old as VirtualMachineDisk | undefined, l));
    case 'VirtualMachinePolicy':
      return validatePolicy(req);
    default:
      return ignored(req, `no check for ${kind}`);
  }
}
