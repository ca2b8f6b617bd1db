// A policy's exceptions as CEL, with the meaning of policy/src/exceptions.ts exceptionApplies:
// the VM (object, or oldObject on DELETE) is in the exception's namespace and named in vmNames or
// selected by vmSelector. Expired exceptions are left out: whoever keeps the generated objects
// regenerates them when an exception expires.
import type { VirtualMachinePolicyException } from '../../../api/generated/types.ts';
import type { LabelSelector } from '../../../api/src/selectors.ts';
import { celList, celString } from './cel-text.ts';
import { labelsOf, selectorCel, SUBJECT } from './selectors.ts';

/** Whether an exception is in force at `now` (no expiry, or one still ahead). */
export function exceptionActive(ex: VirtualMachinePolicyException, now: Date): boolean {
  // As exceptionApplies: only an expiry at or before now ends it (an unreadable one does not).
  return !ex.spec.expires || !(Date.parse(ex.spec.expires) <= now.getTime());
}

/** The first moment after `now` at which one of the exceptions expires, if any. */
export function nextExpiry(
  exceptions: readonly VirtualMachinePolicyException[],
  now: Date,
): Date | undefined {
  const times = exceptions
    .map((e) => (e.spec.expires ? Date.parse(e.spec.expires) : NaN))
    .filter((t) => Number.isFinite(t) && t > now.getTime());
  return times.length ? new Date(Math.min(...times)) : undefined;
}

/** CEL that is true when the exception covers the VM of the request. */
export function exceptionCel(ex: VirtualMachinePolicyException): string {
  const vm = SUBJECT;
  // The request's namespace is the VM's (the webhook fills it in on the object the same way).
  const inNamespace = `request.namespace == ${celString(ex.metadata.namespace ?? '')}`;
  const who: string[] = [];
  if (ex.spec.vmNames)
    who.push(
      `(has(${vm}.metadata.name) ? ${vm}.metadata.name : '') in ${celList(ex.spec.vmNames)}`,
    );
  if (ex.spec.vmSelector)
    who.push(`(${selectorCel(ex.spec.vmSelector as LabelSelector, labelsOf(vm))})`);
  return `(${inNamespace} && (${who.length ? who.join(' || ') : 'false'}))`;
}

/**
 * The exceptions of `policyName` in force now that waive `rule`: those naming it, or no rule
 * (the whole policy).
 */
export function exceptionsFor(
  exceptions: readonly VirtualMachinePolicyException[],
  policyName: string,
  rule: string,
  now: Date,
): VirtualMachinePolicyException[] {
  return exceptions.filter(
    (e) =>
      e.spec.policyName === policyName &&
      exceptionActive(e, now) &&
      e.spec.rules !== undefined &&
      e.spec.rules.includes(rule),
  );
}

/** The exceptions of `policyName` in force now that waive the whole policy. */
export function wholePolicyExceptions(
  exceptions: readonly VirtualMachinePolicyException[],
  policyName: string,
  now: Date,
): VirtualMachinePolicyException[] {
  return exceptions.filter(
    (e) => e.spec.policyName === policyName && exceptionActive(e, now) && !e.spec.rules,
  );
}
