// Admitting a VirtualMachinePolicy, and running the policies in force over a VM request: Deny
// denies, Warn warns, Audit and exceptions go to the decision log.
import type { VirtualMachine, VirtualMachinePolicy } from '../../../api/generated/types.ts';
import type { Lookups } from '../../../kube/src/lookups.ts';
import {
  admissionVerdict,
  buildContext,
  compilePolicy,
  evaluatePolicies,
  type AdmissionVerdict,
  type Operation,
  type PolicyCompiler,
} from '../../../policy/src/index.ts';
import type { AdmissionRequest } from '../admission.ts';

/** The CEL of a policy that does not compile, as one message; undefined when it all compiles. */
export function policyCompileError(policy: VirtualMachinePolicy): string | undefined {
  const compiled = compilePolicy(policy);
  return compiled.errors.length ? `CEL does not compile: ${compiled.errors.join('; ')}` : undefined;
}

/** What the policies in force say about a VM request. */
export function policyVerdict(
  req: AdmissionRequest,
  object: VirtualMachine | undefined,
  l: Lookups,
  compiler: PolicyCompiler,
): { verdict: AdmissionVerdict; notes: string[] } {
  const oldObject = (req.oldObject ?? undefined) as VirtualMachine | undefined;
  const ns = req.namespace ?? object?.metadata.namespace ?? oldObject?.metadata.namespace ?? '';
  const ctx = buildContext(
    {
      operation: req.operation as Operation,
      ...(object ? { object } : {}),
      ...(oldObject ? { oldObject } : {}),
      namespace: ns,
      userInfo: { username: req.userInfo?.username ?? '', groups: req.userInfo?.groups ?? [] },
      dryRun: req.dryRun ?? false,
    },
    l,
  );
  const verdict = admissionVerdict(
    evaluatePolicies(compiler.compiled(l.policies()), l.exceptions(ns), ctx),
  );
  const notes = [
    ...verdict.audits.map((r) => `audit: policy ${r.policy} rule ${r.rule}: ${r.message}`),
    ...verdict.exceptionsUsed.map(
      (r) => `exception ${r.exception} waived policy ${r.policy} rule ${r.rule}`,
    ),
  ];
  return { verdict, notes };
}
