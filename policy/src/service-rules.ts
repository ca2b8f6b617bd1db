// The built-in rules of VirtualMachinePolicy.spec.rules that check VirtualMachineServices rather
// than VMs (today allowedServiceTypes: which namespaces may expose VMs on node ports or load
// balancers). Like rules.ts, each is a function of the rule's setting and the object, and
// serviceRules() compiles the ones a policy sets, marked for VirtualMachineServices only.
import type { VirtualMachinePolicy } from '../../api/generated/types.ts';
import type { CompiledRule, Violation, VirtualMachineServiceLike } from './types.ts';

/** The rules of spec.rules that look at VirtualMachineServices. */
export const SERVICE_RULES = ['allowedServiceTypes'] as const;
export type ServiceRule = (typeof SERVICE_RULES)[number];

/** The type a service has: spec.type, ClusterIP when absent (as for a Kubernetes Service). */
export const serviceType = (svc: VirtualMachineServiceLike): string => svc.spec.type ?? 'ClusterIP';

/** allowedServiceTypes: the service's spec.type must be one of the allowed types. */
export function allowedServiceTypes(
  allowed: readonly string[],
  svc: VirtualMachineServiceLike,
): Violation | undefined {
  const type = serviceType(svc);
  if (allowed.includes(type)) return undefined;
  const ports = (svc.spec.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`);
  const exposes = ports.length ? ` (it would expose ${ports.join(', ')})` : '';
  return {
    message: `spec.type: "${type}" is not allowed in namespace ${svc.metadata.namespace ?? ''}${exposes}; allowed: ${allowed.join(', ')}`,
  };
}

/** The service rules a policy sets, compiled; like the VM built-ins they do not run on DELETE. */
export function serviceRules(
  rules: NonNullable<VirtualMachinePolicy['spec']['rules']>,
): CompiledRule[] {
  const allowed = rules.allowedServiceTypes;
  if (allowed === undefined) return [];
  return [
    {
      name: 'allowedServiceTypes',
      onDelete: false,
      kind: 'VirtualMachineService',
      check: (ctx) => (ctx.service ? allowedServiceTypes(allowed, ctx.service) : undefined),
    },
  ];
}
