// Policy exceptions: a waiver of a policy (or some of its rules) for named or selected VMs.
import type { VirtualMachinePolicyException } from '../../api/generated/types.ts';
import { matchesSelector, type LabelSelector } from '../../api/src/selectors.ts';
import { subject, type EvalContext } from './types.ts';

/** Whether an exception waives `rule` of `policy` for the VM in ctx, now. */
export function exceptionApplies(
  ex: VirtualMachinePolicyException,
  policy: string,
  rule: string,
  ctx: EvalContext,
  now: number,
): boolean {
  const vm = subject(ctx);
  if (!vm || ex.spec.policyName !== policy) return false;
  if (ex.metadata.namespace !== vm.metadata.namespace) return false;
  if (ex.spec.expires && Date.parse(ex.spec.expires) <= now) return false;
  if (ex.spec.rules && !ex.spec.rules.includes(rule)) return false;
  const byName = ex.spec.vmNames?.includes(vm.metadata.name ?? '') ?? false;
  const bySelector = ex.spec.vmSelector
    ? matchesSelector(ex.spec.vmSelector as LabelSelector, vm.metadata.labels)
    : false;
  return byName || bySelector;
}
