// Admitting a VirtualMachineService against the policies in force: the rules of spec.rules that
// check services (allowedServiceTypes) run on CREATE and UPDATE, with the VM webhook's verdicts
// (Deny denies, Warn warns, Audit and exceptions go to the decision log) and its message form,
// `policy "<p>" rule <r>: <message>`. The API server enforces none of them (they are not in the
// generated ValidatingAdmissionPolicies), so the webhook evaluates them all.
import type { Lookups } from '../../kube/src/lookups.ts';
import {
  admissionVerdict,
  buildServiceContext,
  evaluatePolicies,
  type AdmissionVerdict,
  type PolicyCompiler,
  type VirtualMachineServiceLike,
} from '../../policy/src/index.ts';
import { requestInput, verdictNotes } from './policy-verdict.ts';
import { allowed, denied, type AdmissionRequest, type AdmissionResponse } from './admission.ts';

/** What the policies say about a VirtualMachineService request, and the decision log's notes. */
export async function vmServicePolicyVerdict(
  req: AdmissionRequest,
  lookups: Pick<Lookups, 'namespace' | 'policies' | 'exceptions'>,
  compiler: PolicyCompiler,
): Promise<{ verdict: AdmissionVerdict; notes: string[] }> {
  const input = requestInput(
    req,
    (req.object ?? undefined) as VirtualMachineServiceLike | undefined,
  );
  const ns = input.namespace;
  const ctx = buildServiceContext(input, lookups);
  const verdict = admissionVerdict(
    await evaluatePolicies(
      compiler.engine,
      await compiler.compiled(lookups.policies()),
      lookups.exceptions(ns),
      ctx,
      compiler.celTimeBudgetMs !== undefined ? { celTimeBudgetMs: compiler.celTimeBudgetMs } : {},
    ),
  );
  return { verdict, notes: verdictNotes(verdict) };
}

/** The validating webhook's answer for a VirtualMachineService write (handlers.ts routes it here). */
export async function validateVmService(
  req: AdmissionRequest,
  lookups: Pick<Lookups, 'namespace' | 'policies' | 'exceptions'>,
  compiler: PolicyCompiler,
): Promise<{
  response: AdmissionResponse;
  outcome: 'allowed' | 'denied' | 'warned';
  notes: string[];
}> {
  const { verdict, notes } = await vmServicePolicyVerdict(req, lookups, compiler);
  if (verdict.denials.length)
    return {
      response: denied(
        req.uid,
        verdict.denials[0]?.code ?? 403,
        verdict.denials.map((d) => d.message).join('; '),
        verdict.warnings,
      ),
      outcome: 'denied',
      notes,
    };
  return {
    response: allowed(req.uid, undefined, verdict.warnings),
    outcome: verdict.warnings.length ? 'warned' : 'allowed',
    notes,
  };
}
