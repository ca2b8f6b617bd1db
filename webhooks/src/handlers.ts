// From an admission request to a response: a table from kind to its handlers (mutate, validate,
// validate a delete), and the JSON Patch that turns the user's object into the defaulted one.
// Pure, given Lookups. The decisions themselves live in decisions/, one file per kind.
import fastJsonPatch from 'fast-json-patch';
import type {
  VirtualMachine,
  VirtualMachineDisk,
  VirtualMachinePolicy,
} from '../../api/generated/types.ts';
import { ObjectValidator } from '../../api/src/validate.ts';
import { GROUP } from '../../api/src/wellknown.ts';
import type { ImageKind, Lookups } from '../../kube/src/lookups.ts';
import type { PolicyCompiler } from '../../policy/src/index.ts';
import { allowed, denied, type AdmissionRequest, type AdmissionResponse } from './admission.ts';
import { validateClassDelete } from '../../decisions/src/class.ts';
import {
  mutateVirtualMachineDisk,
  validateDiskDelete,
  validateVirtualMachineDisk,
} from '../../decisions/src/disk.ts';
import { validateImageDelete } from '../../decisions/src/image.ts';
import { policyCelProblems, policyVerdict } from './policy-verdict.ts';
import type { NetworkAddresses } from './network-addresses.ts';
import { validateVmService } from './vmservice-policy.ts';
import {
  mutateVirtualMachine,
  validateVirtualMachine,
  type Denial,
  type MutationResult,
  type ValidationResult,
} from '../../decisions/src/vm.ts';

const { compare } = fastJsonPatch;
export { GROUP };

export interface Handled {
  response: AdmissionResponse;
  /** For the decision log: what the webhook did and why. */
  outcome: 'allowed' | 'denied' | 'patched' | 'warned' | 'ignored';
  notes: string[];
}

const validator = new ObjectValidator();

function denialMessage(ds: Denial[]): string {
  return ds.map((d) => `${d.field}: ${d.message}`).join('; ');
}

/** The stricter code of several denials (a forbidden class beats an invalid field). */
function denialCode(ds: Denial[]): number {
  return ds.some((d) => d.code === 403)
    ? 403
    : ds.some((d) => d.code === 409)
      ? 409
      : (ds[0]?.code ?? 403);
}

function withMeta<T extends { apiVersion?: string; kind?: string }>(
  obj: Record<string, unknown>,
  req: AdmissionRequest,
): T {
  const o = obj as T & { metadata?: { namespace?: string } };
  // Namespace may be absent on CREATE (it comes from the URL); decisions need it.
  if (req.namespace && o.metadata && !o.metadata.namespace)
    o.metadata = { ...o.metadata, namespace: req.namespace };
  return o;
}

function patchFrom<T extends object>(req: AdmissionRequest, r: MutationResult<T>): Handled {
  if (r.denial)
    return {
      response: denied(req.uid, r.denial.code ?? 422, denialMessage([r.denial])),
      outcome: 'denied',
      notes: r.notes,
    };
  const before = req.object as object;
  // Diff against the object as received: the namespace filled in for the decisions is not a change.
  const after = structuredClone(r.object) as { metadata?: { namespace?: string } };
  if (after.metadata && !(before as { metadata?: { namespace?: string } }).metadata?.namespace)
    delete after.metadata.namespace;
  const ops = compare(before, after);
  return {
    response: allowed(req.uid, ops),
    outcome: ops.length ? 'patched' : 'allowed',
    notes: r.notes,
  };
}

function fromValidation(req: AdmissionRequest, v: ValidationResult, notes: string[] = []): Handled {
  if (v.denials.length) {
    return {
      response: denied(req.uid, denialCode(v.denials), denialMessage(v.denials), v.warnings),
      outcome: 'denied',
      notes,
    };
  }
  return {
    response: allowed(req.uid, undefined, v.warnings),
    outcome: v.warnings.length ? 'warned' : 'allowed',
    notes,
  };
}

function fromDenial(req: AdmissionRequest, d: Denial | undefined): Handled {
  return d
    ? { response: denied(req.uid, d.code ?? 409, d.message), outcome: 'denied', notes: [] }
    : { response: allowed(req.uid), outcome: 'allowed', notes: [] };
}

function ignored(req: AdmissionRequest, why: string): Handled {
  return { response: allowed(req.uid), outcome: 'ignored', notes: [why] };
}

/** Policies in the same validating pass: their denials join the base checks' denials. */
async function withPolicies(
  req: AdmissionRequest,
  lookups: Lookups,
  compiler: PolicyCompiler,
  base: ValidationResult,
): Promise<Handled> {
  const object = req.object
    ? withMeta<VirtualMachine>(req.object as Record<string, unknown>, req)
    : undefined;
  const { verdict, notes } = await policyVerdict(req, object, lookups, compiler);
  const warnings = [...base.warnings, ...verdict.warnings];
  if (base.denials.length || verdict.denials.length) {
    const parts = [
      ...(base.denials.length ? [denialMessage(base.denials)] : []),
      ...verdict.denials.map((d) => d.message),
    ];
    const code = base.denials.length ? denialCode(base.denials) : (verdict.denials[0]?.code ?? 403);
    return {
      response: denied(req.uid, code, parts.join('; '), warnings),
      outcome: 'denied',
      notes,
    };
  }
  return {
    response: allowed(req.uid, undefined, warnings),
    outcome: warnings.length ? 'warned' : 'allowed',
    notes,
  };
}

interface KindHandler {
  /** CREATE or UPDATE, on an object that matches its schema. */
  mutate?(
    req: AdmissionRequest,
    obj: Record<string, unknown>,
    lookups: Lookups,
    addresses?: NetworkAddresses,
  ): Handled | Promise<Handled>;
  validate?(
    req: AdmissionRequest,
    obj: Record<string, unknown>,
    lookups: Lookups,
    compiler: PolicyCompiler,
    addresses?: NetworkAddresses,
  ): Handled | Promise<Handled>;
  validateDelete?(
    req: AdmissionRequest,
    name: string,
    lookups: Lookups,
    compiler: PolicyCompiler,
  ): Handled | Promise<Handled>;
}

function deletedNamespace(req: AdmissionRequest): string | undefined {
  return (
    req.namespace ??
    (req.oldObject as { metadata?: { namespace?: string } } | undefined)?.metadata?.namespace
  );
}

const imageHandler = (kind: ImageKind): KindHandler => ({
  validateDelete: (req, name, l) =>
    fromDenial(req, validateImageDelete(kind, deletedNamespace(req), name, l)),
});

/** Every vmplane kind the webhooks act on, and how. */
const HANDLERS: Record<string, KindHandler> = {
  VirtualMachine: {
    mutate: async (req, obj, l, addresses) => {
      const r = mutateVirtualMachine(withMeta<VirtualMachine>(structuredClone(obj), req), l, {
        creating: req.operation === 'CREATE',
      });
      // MACs and static-pool IPs are claimed once the defaults are in (network-addresses.ts).
      const labels = l.namespace(r.object.metadata?.namespace ?? '')?.metadata?.labels;
      if (r.denial || !addresses) return patchFrom(req, r);
      const claimed = await addresses.assign(req, r.object, labels);
      const notes = [...r.notes, ...claimed.notes];
      return patchFrom(
        req,
        claimed.denial ? { ...r, denial: claimed.denial, notes } : { ...r, notes },
      );
    },
    validate: async (req, obj, l, compiler, addresses) => {
      const vm = withMeta<VirtualMachine>(obj, req);
      const base = validateVirtualMachine(vm, req.oldObject as VirtualMachine | undefined, l);
      const ns = vm.metadata.namespace ?? '';
      const offered = addresses
        ? await addresses.checkNamespaces(req, vm, l.namespace(ns)?.metadata?.labels)
        : [];
      return withPolicies(req, l, compiler, { ...base, denials: [...base.denials, ...offered] });
    },
    validateDelete: (req, _name, l, compiler) =>
      withPolicies(req, l, compiler, { denials: [], warnings: [] }),
  },
  VirtualMachineDisk: {
    mutate: (req, obj, l) =>
      req.operation === 'UPDATE'
        ? ignored(req, 'storage is settled at creation')
        : patchFrom(
            req,
            mutateVirtualMachineDisk(withMeta<VirtualMachineDisk>(structuredClone(obj), req), l),
          ),
    validate: (req, obj, l) =>
      fromValidation(
        req,
        validateVirtualMachineDisk(
          withMeta<VirtualMachineDisk>(obj, req),
          req.oldObject as VirtualMachineDisk | undefined,
          l,
        ),
      ),
    // Refused while a VM of the disk's namespace names it: the VMs are named.
    validateDelete: (req, name, l) =>
      fromDenial(req, validateDiskDelete(deletedNamespace(req) ?? '', name, l)),
  },
  VirtualMachineClass: {
    validateDelete: (req, name, l) => fromDenial(req, validateClassDelete(name, l)),
  },
  VirtualMachineImage: imageHandler('VirtualMachineImage'),
  ClusterVirtualMachineImage: imageHandler('ClusterVirtualMachineImage'),
  // The policies' service rules (allowedServiceTypes): vmservice-policy.ts.
  VirtualMachineService: {
    validate: (req, _obj, l, compiler) => validateVmService(req, l, compiler),
  },
  VirtualMachinePolicy: {
    // A policy whose CEL does not compile, or could cost more than the API server allows one
    // expression, never gets in; type errors against the schemas are warnings.
    validate: async (req, obj, _l, compiler) => {
      const { error, warnings } = await policyCelProblems(
        compiler,
        obj as unknown as VirtualMachinePolicy,
        (req.oldObject ?? undefined) as VirtualMachinePolicy | undefined,
      );
      if (error)
        return { response: denied(req.uid, 422, error, warnings), outcome: 'denied', notes: [] };
      return {
        response: allowed(req.uid, undefined, warnings),
        outcome: warnings.length ? 'warned' : 'allowed',
        notes: [],
      };
    },
  },
};

const writes = (op: string): boolean => op === 'CREATE' || op === 'UPDATE';

/** The mutating webhook; with `addresses`, VMs get their MACs and static-pool IPs claimed. */
export async function handleMutation(
  req: AdmissionRequest,
  lookups: Lookups,
  addresses?: NetworkAddresses,
): Promise<Handled> {
  if (req.kind.group !== GROUP || !writes(req.operation)) return ignored(req, 'not mutated');
  const handler = HANDLERS[req.kind.kind]?.mutate;
  if (!handler) return ignored(req, `no mutation for ${req.kind.kind}`);
  const obj = req.object as Record<string, unknown>;
  // An object that breaks its schema is left alone: the API server's own validation, which runs
  // after mutation, refuses it with the schema's message.
  if (!validator.validate(obj).valid)
    return ignored(req, 'object does not match its schema; left to the API server');
  return handler(req, obj, lookups, addresses);
}

/** The validating webhook. */
export async function handleValidation(
  req: AdmissionRequest,
  lookups: Lookups,
  compiler: PolicyCompiler,
  addresses?: NetworkAddresses,
): Promise<Handled> {
  if (req.kind.group !== GROUP) return ignored(req, 'not a vmplane kind');
  const kind = req.kind.kind;
  const handler = HANDLERS[kind];
  if (req.operation === 'DELETE') {
    if (!handler?.validateDelete) return ignored(req, `no delete check for ${kind}`);
    const name =
      req.name ??
      (req.oldObject as { metadata?: { name?: string } } | undefined)?.metadata?.name ??
      '';
    return handler.validateDelete(req, name, lookups, compiler);
  }
  if (!writes(req.operation)) return ignored(req, `no check for ${req.operation}`);
  const obj = req.object as Record<string, unknown>;
  const schema = validator.validate(obj);
  if (!schema.valid)
    return {
      response: denied(req.uid, 422, schema.errors.join('; ')),
      outcome: 'denied',
      notes: [],
    };
  if (!handler?.validate) return ignored(req, `no check for ${kind}`);
  return handler.validate(req, obj, lookups, compiler, addresses);
}
