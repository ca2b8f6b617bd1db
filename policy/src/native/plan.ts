// TEMPORARY stand-in for helper "translate"'s module (same interface): only CEL validations that
// mention neither vmClass nor image qualify, and a policy with exceptions stays in the webhook.
import type {
  VirtualMachinePolicy,
  VirtualMachinePolicyException,
} from '../../../api/generated/types.ts';
import { celRuleName } from '../names.ts';

export interface NativePlan {
  /** Rule names (built-in rule names, CEL validation names as in reports) the API server enforces. */
  native: string[];
  /** The rules that stay in the webhook, each with why (for status and `vmplane policy test`). */
  webhook: { rule: string; reason: string }[];
  /** The generated objects; absent when no rule qualifies. JSON as sent to the API server. */
  objects?: { policy: Record<string, unknown>; binding: Record<string, unknown> };
}

export interface NativeOptions {
  /** Exceptions of the policy (all namespaces), already filtered to spec.policyName == policy. */
  exceptions: readonly VirtualMachinePolicyException[];
  /** Name suffix/label scope, as in webhooks/src/registration.ts RegistrationOptions.scope. */
  scope?: string;
  /** vmplane's own namespace (never caught, like the webhooks). */
  ownNamespace: string;
  now: Date;
}

export const NATIVE_MANAGED_BY = { 'app.kubernetes.io/managed-by': 'vmplane' };

export function nativeName(policyName: string, scope?: string): string {
  return `vmplane-policy-${policyName}${scope ? `-${scope}` : ''}`;
}

const esc = (s: string): string => JSON.stringify(s);

export function nativePlan(policy: VirtualMachinePolicy, o: NativeOptions): NativePlan {
  const spec = policy.spec;
  const name = policy.metadata.name ?? '';
  const webhook: NativePlan['webhook'] = Object.keys(spec.rules ?? {}).map((rule) => ({
    rule,
    reason: 'built-in rules stay in the webhook (stand-in)',
  }));
  const native: string[] = [];
  const validations: Record<string, unknown>[] = [];
  (spec.validations ?? []).forEach((v, i) => {
    const rule = celRuleName(v, i);
    if (o.exceptions.length)
      return webhook.push({ rule, reason: 'the policy has exceptions (stand-in)' });
    if (/\b(vmClass|image)\b/.test(v.expression) || v.messageExpression)
      return webhook.push({ rule, reason: 'reads vmClass or image (stand-in)' });
    native.push(rule);
    validations.push({
      expression: v.expression,
      message: `policy "${name}" rule ${rule}: ${v.message ?? `failed expression: ${v.expression}`}`,
      ...(v.reason ? { reason: v.reason } : {}),
    });
  });
  if (!native.length) return { native, webhook };
  const objName = nativeName(name, o.scope);
  const labels = { ...NATIVE_MANAGED_BY };
  const ops = spec.match?.operations ?? ['CREATE', 'UPDATE'];
  const nsSel = spec.match?.namespaceSelector ?? {};
  const vmSel = spec.match?.vmSelector?.matchLabels ?? {};
  const conds = Object.entries(vmSel).map(([k, val], i) => ({
    name: `vm-selector-${i}`,
    expression: `[request.operation == "DELETE" ? oldObject : object].all(o, has(o.metadata.labels) && ${esc(k)} in o.metadata.labels && o.metadata.labels[${esc(k)}] == ${esc(val ?? '')})`,
  }));
  const policyObj = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: objName, labels },
    spec: {
      failurePolicy: (spec as { failurePolicy?: string }).failurePolicy ?? 'Fail',
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: ['vmplane.io'],
            apiVersions: ['v1alpha1'],
            operations: ops,
            resources: ['virtualmachines'],
          },
        ],
      },
      ...(conds.length ? { matchConditions: conds } : {}),
      validations,
    },
  };
  const binding = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: objName, labels },
    spec: {
      policyName: objName,
      validationActions: spec.validationActions,
      matchResources: {
        namespaceSelector: {
          ...(nsSel.matchLabels ? { matchLabels: nsSel.matchLabels } : {}),
          matchExpressions: [
            ...(nsSel.matchExpressions ?? []),
            {
              key: 'kubernetes.io/metadata.name',
              operator: 'NotIn',
              values: [...new Set(['kube-system', o.ownNamespace])],
            },
          ],
        },
      },
    },
  };
  return { native, webhook, objects: { policy: policyObj, binding } };
}
