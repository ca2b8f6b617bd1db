// Admitting a VirtualMachinePolicy, and running the policies in force over a VM request: Deny
// denies, Warn warns, Audit and exceptions go to the decision log.
import type { VirtualMachine, VirtualMachinePolicy } from '../../api/generated/types.ts';
import type { Lookups } from '../../kube/src/lookups.ts';
import {
  admissionVerdict,
  buildContext,
  compileCelRules,
  evaluatePolicies,
  nativeRulesInForce,
  type AdmissionVerdict,
  type Operation,
  type PolicyCompiler,
} from '../../policy/src/index.ts';
import type { AdmissionRequest } from './admission.ts';

/**
 * Admitting a policy: CEL that does not compile, or whose estimated cost is over the API server's
 * per-expression limit, is refused (one message); type errors against the schemas are warnings.
 */
export async function policyCelProblems(
  compiler: PolicyCompiler,
  policy: VirtualMachinePolicy,
  old?: VirtualMachinePolicy,
): Promise<{ error?: string; warnings: string[] }> {
  const c = await compileCelRules(compiler.engine, policy, 'new', old);
  return {
    ...(c.errors.length ? { error: `CEL refused: ${c.errors.join('; ')}` } : {}),
    warnings: c.warnings,
  };
}

/** The policy context's input for a request on `object` (its old object is the request's). */
export function requestInput<T extends { metadata: { namespace?: string } }>(
  req: AdmissionRequest,
  object: T | undefined,
): {
  operation: Operation;
  object?: T;
  oldObject?: T;
  namespace: string;
  userInfo: { username: string; groups: string[] };
  dryRun: boolean;
} {
  const oldObject = (req.oldObject ?? undefined) as T | undefined;
  return {
    operation: req.operation as Operation,
    ...(object ? { object } : {}),
    ...(oldObject ? { oldObject } : {}),
    namespace: req.namespace ?? object?.metadata.namespace ?? oldObject?.metadata.namespace ?? '',
    userInfo: { username: req.userInfo?.username ?? '', groups: req.userInfo?.groups ?? [] },
    dryRun: req.dryRun ?? false,
  };
}

/** The decision log's notes of a verdict: audits, errors ignored, exceptions used. */
export function verdictNotes(verdict: AdmissionVerdict): string[] {
  return [
    ...verdict.audits.map(
      (r) =>
        `${r.ignoreError ? 'ignored error' : 'audit'}: policy ${r.policy} rule ${r.rule}: ${r.message}`,
    ),
    ...verdict.exceptionsUsed.map(
      (r) => `exception ${r.exception} waived policy ${r.policy} rule ${r.rule}`,
    ),
  ];
}

/** What the policies in force say about a VM request. */
export async function policyVerdict(
  req: AdmissionRequest,
  object: VirtualMachine | undefined,
  lookups: Lookups,
  compiler: PolicyCompiler,
): Promise<{ verdict: AdmissionVerdict; notes: string[] }> {
  const input = requestInput(req, object);
  const ns = input.namespace;
  const ctx = buildContext(input, lookups);
  const policies = lookups.policies();
  // What a generated ValidatingAdmissionPolicy enforces for the current generation is not
  // evaluated again here (the API server already did, with the same verdict and message).
  const skipRules = new Map<string, ReadonlySet<string>>();
  for (const p of policies) {
    const native = nativeRulesInForce(p);
    if (native.size) skipRules.set(p.metadata.name ?? '', native);
  }
  const verdict = admissionVerdict(
    await evaluatePolicies(
      compiler.engine,
      await compiler.compiled(policies),
      lookups.exceptions(ns),
      ctx,
      {
        ...(compiler.celTimeBudgetMs !== undefined
          ? { celTimeBudgetMs: compiler.celTimeBudgetMs }
          : {}),
        ...(skipRules.size ? { skipRules } : {}),
      },
    ),
  );
  return { verdict, notes: verdictNotes(verdict) };
}
