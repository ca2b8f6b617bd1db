// Policy exceptions: a waiver of a policy (or some of its rules) for named or selected VMs.
import type { VirtualMachinePolicyException } from '../../api/generated/types.ts';
import { matchesSelector, type LabelSelector } from '../../api/src/selectors.ts';
import { subjectMetadata, type EvalContext } from './types.ts';

/**
 * Whether an exception waives `rule` of `policy` for the VM in ctx, now (or the
 * VirtualMachineService: vmNames and vmSelector then name and select services).
 */
export function exceptionApplies(
  ex: VirtualMachinePolicyException,
  policy: string,
  rule: string,
  ctx: EvalContext,
  now: number,
): boolean {
  const meta = subjectMetadata(ctx);
  if (!meta || ex.spec.policyName !== policy) return false;
  if (ex.metadata.namespace !== meta.namespace) return false;
  if (ex.spec.expires && Date.parse(ex.spec.expires) <= now) return false;
  if (ex.spec.rules && !ex.spec.rules.includes(rule)) return false;
  const byName = ex.spec.vmNames?.includes(meta.name ?? '') ?? false;
  const bySelector = ex.spec.vmSelector
    ? matchesSelector(ex.spec.vmSelector as LabelSelector, meta.labels)
    : false;
  return byName || bySelector;
}
