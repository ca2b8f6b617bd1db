// Native enforcement: what of a VirtualMachinePolicy (and its exceptions) the API server can
// enforce itself, as one ValidatingAdmissionPolicy and its binding, with the webhook's verdicts
// and messages; and what stays in the webhook, with why. Pure: the controller keeps the objects.
import { createHash } from 'node:crypto';
import type {
  VirtualMachinePolicy,
  VirtualMachinePolicyException,
} from '../../../api/generated/types.ts';
import type { LabelSelector } from '../../../api/src/selectors.ts';
import { builtinTranslations, type NativeValidation, type Translation } from './builtin.ts';
import { celRuleName } from '../names.ts';
import { celTranslation } from './cel-rules.ts';
import { exceptionCel, exceptionsFor, wholePolicyExceptions } from './exceptions.ts';
import { labelsOf, selectorCel, selectorProblem, SUBJECT } from './selectors.ts';
import { SPEC_LABELS_OR_ANNOTATIONS_CHANGED } from '../match-conditions.ts';

/** When the plan changes next by itself: the first expiry ahead of an exception in force. */
export { nextExpiry as nextExceptionExpiry } from './exceptions.ts';

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
  /**
   * The policy's CEL compile errors (CompiledPolicy.errors, `spec.validations[i].field: ...`): the
   * webhook drops such an expression (a message expression falls back to message), so those
   * validations stay there.
   */
  celErrors?: readonly string[];
}

/** The label on every generated object. */
export const NATIVE_MANAGED_BY = { 'app.kubernetes.io/managed-by': 'vmplane' } as const;
/** The annotation naming the VirtualMachinePolicy a generated object comes from. */
export const NATIVE_POLICY_ANNOTATION = 'vmplane.io/policy';

const MAX_NAME = 253;

/** 'vmplane-policy-<name>[-scope]', for the ValidatingAdmissionPolicy and its binding alike. */
export function nativeName(policyName: string, scope?: string): string {
  const name = `vmplane-policy-${policyName}${scope ? `-${scope}` : ''}`;
  if (name.length <= MAX_NAME) return name;
  // Too long for an object name: cut, and keep it unique with a hash of the whole.
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  return `${name.slice(0, MAX_NAME - hash.length - 1).replace(/[.-]+$/, '')}-${hash}`;
}

type Extra = { failurePolicy?: string; nativeEnforcement?: string };

/** Why nothing of the policy can run in the API server, or undefined. */
function policyProblem(policy: VirtualMachinePolicy): string | undefined {
  const spec = policy.spec as VirtualMachinePolicy['spec'] & Extra;
  if (spec.nativeEnforcement === 'Disabled') return 'the policy sets nativeEnforcement: Disabled';
  const ns = selectorProblem(spec.match?.namespaceSelector as LabelSelector | undefined);
  if (ns) return `the policy's namespaceSelector is one the API server refuses: ${ns}`;
  return undefined;
}

/** Every rule of the policy in the webhook's order: built-in rules, then CEL validations. */
function translations(
  policy: VirtualMachinePolicy,
  celErrors: readonly string[],
): { rule: string; translation: Translation }[] {
  const name = policy.metadata.name ?? '';
  return [
    ...builtinTranslations(policy.spec.rules, name),
    ...(policy.spec.validations ?? []).map((v, i) => {
      const error = celErrors.find((e) => e.startsWith(`spec.validations[${i}].`));
      return {
        rule: celRuleName(v, i),
        translation: error
          ? { reason: `its CEL does not compile (${error}), which the webhook works around` }
          : celTranslation(v, i, name),
      };
    }),
  ];
}

/** The validation with the rule's own exceptions: a waived VM passes, as in the webhook. */
function withExceptions(v: NativeValidation, waivers: string[]): NativeValidation {
  if (!waivers.length) return v;
  return { ...v, expression: `(${waivers.join(' || ')}) || (${v.expression})` };
}

function matchConditions(
  policy: VirtualMachinePolicy,
  o: NativeOptions,
  name: string,
): Record<string, string>[] {
  const out: Record<string, string>[] = [{ ...SPEC_LABELS_OR_ANNOTATIONS_CHANGED }];
  const vmSelector = policy.spec.match?.vmSelector as LabelSelector | undefined;
  if (vmSelector)
    out.push({ name: 'vm-selector', expression: selectorCel(vmSelector, labelsOf(SUBJECT)) });
  const whole = wholePolicyExceptions(o.exceptions, name, o.now);
  if (whole.length)
    out.push({
      name: 'no-policy-exception',
      expression: `!(${whole.map(exceptionCel).join(' || ')})`,
    });
  return out;
}

function namespaceSelector(
  policy: VirtualMachinePolicy,
  o: NativeOptions,
): Record<string, unknown> {
  const own = (policy.spec.match?.namespaceSelector ?? {}) as LabelSelector;
  return {
    ...(own.matchLabels ? { matchLabels: own.matchLabels } : {}),
    matchExpressions: [
      ...(own.matchExpressions ?? []),
      {
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: [...new Set(['kube-system', o.ownNamespace])],
      },
      ...(o.scope ? [{ key: 'vmplane.io/webhook-scope', operator: 'In', values: [o.scope] }] : []),
    ],
  };
}

function objects(
  policy: VirtualMachinePolicy,
  o: NativeOptions,
  validations: NativeValidation[],
): NonNullable<NativePlan['objects']> {
  const name = policy.metadata.name ?? '';
  const objectName = nativeName(name, o.scope);
  const metadata = {
    name: objectName,
    labels: { ...NATIVE_MANAGED_BY, ...(o.scope ? { 'vmplane.io/webhook-scope': o.scope } : {}) },
    annotations: { [NATIVE_POLICY_ANNOTATION]: name },
  };
  const spec = policy.spec as VirtualMachinePolicy['spec'] & Extra;
  return {
    policy: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata,
      spec: {
        failurePolicy: spec.failurePolicy === 'Ignore' ? 'Ignore' : 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: ['vmplane.io'],
              apiVersions: ['v1alpha1'],
              operations: [...(spec.match?.operations ?? ['CREATE', 'UPDATE'])],
              resources: ['virtualmachines'],
              scope: 'Namespaced',
            },
          ],
          namespaceSelector: namespaceSelector(policy, o),
          objectSelector: {},
          matchPolicy: 'Equivalent',
        },
        matchConditions: matchConditions(policy, o, name),
        validations,
      },
    },
    binding: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata,
      spec: { policyName: objectName, validationActions: [...spec.validationActions] },
    },
  };
}

/** What of `policy` runs in the API server, what stays in the webhook and why, and the objects. */
export function nativePlan(policy: VirtualMachinePolicy, o: NativeOptions): NativePlan {
  const name = policy.metadata.name ?? '';
  const all = translations(policy, o.celErrors ?? []);
  const problem = policyProblem(policy);
  if (problem) return { native: [], webhook: all.map(({ rule }) => ({ rule, reason: problem })) };
  const native: string[] = [];
  const webhook: NativePlan['webhook'] = [];
  const validations: NativeValidation[] = [];
  for (const { rule, translation } of all) {
    if ('reason' in translation) {
      webhook.push({ rule, reason: translation.reason });
      continue;
    }
    native.push(rule);
    const waivers = exceptionsFor(o.exceptions, name, rule, o.now).map(exceptionCel);
    validations.push(withExceptions(translation.validation, waivers));
  }
  if (!validations.length) return { native, webhook };
  return { native, webhook, objects: objects(policy, o, validations) };
}
