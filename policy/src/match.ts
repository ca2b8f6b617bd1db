// Which policies apply to a request or an existing VM.
import type { VirtualMachinePolicy } from '../../api/generated/types.ts';
import { matchesSelector, type LabelSelector } from '../../api/src/selectors.ts';
import { subjectMetadata, type EvalContext } from './types.ts';

/**
 * Whether a policy applies. In the background audit (existing objects, no request) a policy
 * applies when it checks CREATE or UPDATE: the VM as it stands must still pass it.
 */
export function policyMatches(
  p: VirtualMachinePolicy,
  ctx: EvalContext,
  background = false,
): boolean {
  const ops = p.spec.match?.operations ?? ['CREATE', 'UPDATE'];
  if (
    background ? !ops.some((o) => o === 'CREATE' || o === 'UPDATE') : !ops.includes(ctx.operation)
  )
    return false;
  const nsLabels = ctx.namespaceObject?.metadata?.labels ?? {
    'kubernetes.io/metadata.name': ctx.request.namespace,
  };
  if (!matchesSelector(p.spec.match?.namespaceSelector as LabelSelector | undefined, nsLabels))
    return false;
  // On a VirtualMachineService, vmSelector selects by the service's own labels.
  return matchesSelector(
    p.spec.match?.vmSelector as LabelSelector | undefined,
    subjectMetadata(ctx)?.labels,
  );
}

/**
 * Whether any policy acts on VM deletions (DELETE among its operations, Deny or Warn among its
 * actions). Only then is the DELETE webhook registered, so a webhook outage never blocks deleting
 * VMs (and their namespaces) for a check nobody asked for.
 */
export function checksDeletes(policies: VirtualMachinePolicy[]): boolean {
  return policies.some(
    (p) =>
      (p.spec.match?.operations ?? []).includes('DELETE') &&
      p.spec.validationActions.some((a) => a === 'Deny' || a === 'Warn'),
  );
}
