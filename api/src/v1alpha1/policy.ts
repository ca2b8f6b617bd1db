import type { KindDefinition } from '../kind.ts';
import {
  arr,
  bool,
  byteQuantity,
  conditions,
  enumOf,
  int,
  labelSelector,
  obj,
  objectName,
  observedGeneration,
  str,
} from '../schema.ts';
import { POWER_STATES } from './virtualmachine.ts';

export const VALIDATION_ACTIONS = ['Deny', 'Warn', 'Audit'] as const;
export const POLICY_OPERATIONS = ['CREATE', 'UPDATE', 'DELETE'] as const;
export const BUILTIN_RULES = [
  'allowedClasses',
  'allowedImages',
  'maxCPUs',
  'maxMemory',
  'maxDisks',
  'maxTotalDiskSize',
  'allowedStorageClasses',
  'allowedNetworks',
  'requiredLabels',
  'requiredAnnotations',
  'allowGPUs',
  'allowedPowerStates',
  'allowedServiceTypes',
] as const;
/** The types of a VirtualMachineService (those of a Kubernetes Service that expose VMs). */
export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer'] as const;

function requiredKeys(what: 'labels' | 'annotations'): ReturnType<typeof arr> {
  return arr(
    `${what === 'labels' ? 'Labels' : 'Annotations'} every matching VM must carry.`,
    obj(
      `One required ${what === 'labels' ? 'label' : 'annotation'}.`,
      {
        key: str('The key, for example vmplane.io/owner.', { maxLength: 317 }),
        values: arr(
          'When set, the value must be one of these.',
          str('An allowed value.', { maxLength: 1024 }),
          { maxItems: 64 },
        ),
      },
      { required: ['key'] },
    ),
    { maxItems: 32, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['key'] },
  );
}

const builtInRules = obj(
  'Built-in guardrails that understand VM classes, images, storage, networks and VM services. Every rule that is set must hold; sizes compare as quantities (16Gi > 8192Mi).',
  {
    allowedClasses: obj('Only these VirtualMachineClasses may be used.', {
      names: arr('Class names.', objectName('A class name.'), { maxItems: 128 }),
      selector: labelSelector('Classes whose labels match this selector.'),
      reservations: arr(
        'Only classes with one of these reservations.',
        enumOf('A reservation.', ['Guaranteed', 'BestEffort']),
        {
          maxItems: 2,
        },
      ),
    }),
    allowedImages: arr(
      'Image names (glob patterns allowed: ubuntu-*, */approved-*) the VM may boot from. A pattern with a slash matches KIND/NAME, for example ClusterVirtualMachineImage/*.',
      str('A name or glob pattern.', { maxLength: 512 }),
      { maxItems: 128 },
    ),
    maxCPUs: int('The most vCPUs a VM may have (from its class).', { minimum: 1, maximum: 512 }),
    maxMemory: byteQuantity('The most memory a VM may have (from its class), for example 64Gi.'),
    maxDisks: int('The most disks a VM may have, counting the boot disk.', {
      minimum: 0,
      maximum: 64,
    }),
    maxTotalDiskSize: byteQuantity(
      'The largest sum of the sizes of all disks of a VM, boot disk included.',
    ),
    allowedStorageClasses: arr(
      "Storage classes the VM's new disks may use.",
      objectName('A StorageClass name.'),
      {
        maxItems: 64,
      },
    ),
    allowedNetworks: arr(
      'Networks the VM may plug into, as its interfaces name them (spec.network.interfaces[].network: a Network, or a NetworkAttachmentDefinition of its namespace); write "pod" for the pod network (an interface without network, or no interfaces at all). Names or glob patterns (lab-*, vlan-??).',
      str('A network name or glob pattern, or pod.', { maxLength: 253 }),
      { maxItems: 64 },
    ),
    requiredLabels: requiredKeys('labels'),
    requiredAnnotations: requiredKeys('annotations'),
    allowGPUs: bool('When false, classes with GPUs or host devices are refused.'),
    allowedPowerStates: arr(
      'Power states the VM may be set to.',
      enumOf('A power state.', POWER_STATES),
      { maxItems: 3 },
    ),
    allowedServiceTypes: arr(
      "The types (spec.type) a VirtualMachineService may have in the matching namespaces, for example [ClusterIP] to keep VMs off node ports and load balancers. Checked when a VirtualMachineService is created or updated, not on VMs; match.vmSelector then selects by the service's own labels, and exceptions name services (vmNames, vmSelector).",
      enumOf('A service type.', SERVICE_TYPES),
      { maxItems: 3, 'x-kubernetes-list-type': 'set' },
    ),
  },
);

const celValidation = obj(
  'A rule written in CEL, evaluated with object, oldObject, request, namespaceObject, vmClass and image in scope. quantity("16Gi") and its compareTo/isGreaterThan/isLessThan methods compare sizes.',
  {
    name: str('A short name for reports and exceptions; defaults to cel-<index>.', {
      maxLength: 63,
    }),
    expression: str(
      'A CEL expression that is true when the VM is acceptable, for example object.spec.powerState != "Suspended".',
      {
        minLength: 1,
        maxLength: 8192,
      },
    ),
    message: str('What users read when the expression is false.', { maxLength: 1024 }),
    messageExpression: str(
      'A CEL expression yielding the message; wins over message when it evaluates to a string.',
      {
        maxLength: 4096,
      },
    ),
    reason: enumOf(
      'The HTTP reason reported on Deny: Forbidden (default), Invalid, or Unauthorized.',
      ['Forbidden', 'Invalid', 'Unauthorized'],
    ),
  },
  { required: ['expression'] },
);

export const virtualMachinePolicy: KindDefinition = {
  kind: 'VirtualMachinePolicy',
  plural: 'virtualmachinepolicies',
  singular: 'virtualmachinepolicy',
  shortNames: ['vmpolicy', 'vmpol'],
  scope: 'Cluster',
  description:
    'A VirtualMachinePolicy is a guardrail written by a policy team: which VMs it covers, built-in rules and CEL checks they must pass, and whether a violation denies the request, warns the user or is only audited. It can also set namespace defaults (class, storage class).',
  spec: obj(
    'Which VMs the policy covers, what it checks and what a violation does.',
    {
      description: str('What the policy protects and why, shown in reports.', { maxLength: 1024 }),
      match: obj(
        'Which requests the policy applies to. Omitted: every VM in every namespace, on CREATE and UPDATE.',
        {
          namespaceSelector: labelSelector('Namespaces whose labels match.'),
          vmSelector: labelSelector('VMs whose labels match.'),
          operations: arr(
            'Operations checked; DELETE only sees oldObject.',
            enumOf('An operation.', POLICY_OPERATIONS),
            { minItems: 1, maxItems: 3, 'x-kubernetes-list-type': 'set' },
          ),
        },
      ),
      validationActions: arr(
        'What a violation does, as in ValidatingAdmissionPolicyBinding: Deny refuses the request, Warn admits it and returns a warning (kubectl prints "Warning: ..."), Audit admits it and records the violation in the PolicyReport. Deny and Warn cannot be combined.',
        enumOf('An action.', VALIDATION_ACTIONS),
        {
          minItems: 1,
          maxItems: 3,
          'x-kubernetes-list-type': 'set',
          'x-kubernetes-validations': [
            {
              rule: "!('Deny' in self && 'Warn' in self)",
              message: 'Deny and Warn cannot be used together',
            },
          ],
        },
      ),
      rules: builtInRules,
      validations: arr('CEL checks, all of which must hold.', celValidation, { maxItems: 64 }),
      failurePolicy: enumOf(
        'What an evaluation error (a CEL runtime error, a cost or time budget running out) does: Fail (default) treats it as a violation, so a Deny policy denies; Ignore admits the request and only logs and audits the error. Applies to the webhook and to the ValidatingAdmissionPolicy generated from this policy.',
        ['Fail', 'Ignore'],
      ),
      nativeEnforcement: enumOf(
        'Auto (default): the rules that can run inside the API server are enforced there by a generated ValidatingAdmissionPolicy and binding (vmplane-policy-<name>), the rest by the webhook; status.enforcement says which. Disabled: every rule stays in the webhook and no ValidatingAdmissionPolicy is generated.',
        ['Auto', 'Disabled'],
      ),
      defaults: obj(
        'Defaults the mutating webhook applies to VMs in the matching namespaces when the user leaves them out.',
        {
          className: objectName('The VirtualMachineClass for VMs that name none.'),
          storageClassName: objectName(
            'The StorageClass for disks that name none (before the cluster default).',
          ),
        },
      ),
    },
    {
      required: ['validationActions'],
      'x-kubernetes-validations': [
        {
          rule: 'has(self.rules) || has(self.validations) || has(self.defaults)',
          message: 'a policy needs rules, validations or defaults; this one would do nothing',
        },
      ],
    },
  ),
  status: obj('Whether the policy is in force and what it found.', {
    observedGeneration: observedGeneration(),
    conditions: conditions('Ready is False with the compile error when an expression is invalid.'),
    violations: obj('Counts from the latest audit of existing VMs.', {
      audited: int('VMs evaluated.', { minimum: 0 }),
      failed: int('VMs violating the policy.', { minimum: 0 }),
      excepted: int('Violations waived by an exception.', { minimum: 0 }),
    }),
    enforcement: obj(
      'Where each rule is enforced, written by the controllers once the generated ValidatingAdmissionPolicy and binding exist as desired. The webhook skips the native rules only while observedGeneration equals metadata.generation.',
      {
        observedGeneration: int('The policy generation this enforcement was computed for.', {
          minimum: 0,
        }),
        admissionPolicy: str(
          'The generated ValidatingAdmissionPolicy (and binding) enforcing the native rules; empty when none.',
          { maxLength: 253 },
        ),
        native: arr(
          'Rules the API server enforces (built-in rule names, CEL validation names).',
          str('A rule name.', { maxLength: 63 }),
          { maxItems: 128 },
        ),
        webhook: arr(
          "Rules vmplane's validating webhook enforces, each with why it cannot run in the API server.",
          obj(
            'A rule left to the webhook.',
            {
              rule: str('The rule name.', { maxLength: 63 }),
              reason: str('Why it stays in the webhook.', { maxLength: 1024 }),
            },
            { required: ['rule', 'reason'] },
          ),
          { maxItems: 128 },
        ),
        message: str('A summary for people, for example why nothing is generated.', {
          maxLength: 1024,
        }),
      },
    ),
    lastAuditTime: str(
      "When the audit last found a change in this policy's results or conditions (an audit that changes nothing writes nothing).",
      {
        format: 'date-time',
        maxLength: 64,
      },
    ),
  }),
  printerColumns: [
    {
      name: 'ACTIONS',
      type: 'string',
      jsonPath: '.spec.validationActions',
      description: 'Deny, Warn, Audit.',
    },
    {
      name: 'READY',
      type: 'string',
      jsonPath: ".status.conditions[?(@.type=='Ready')].status",
      description: 'Whether every expression compiled.',
    },
    {
      name: 'NATIVE',
      type: 'string',
      jsonPath: '.status.enforcement.native',
      description:
        'Rules enforced inside the API server by the generated ValidatingAdmissionPolicy.',
      priority: 1,
    },
    {
      name: 'VIOLATIONS',
      type: 'integer',
      jsonPath: '.status.violations.failed',
      description: 'VMs violating it.',
    },
    {
      name: 'AGE',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since creation.',
    },
  ],
};

export const virtualMachinePolicyException: KindDefinition = {
  kind: 'VirtualMachinePolicyException',
  plural: 'virtualmachinepolicyexceptions',
  singular: 'virtualmachinepolicyexception',
  shortNames: ['vmpolex'],
  scope: 'Namespaced',
  description:
    'A VirtualMachinePolicyException waives a policy (or some of its rules) for chosen VMs of its namespace, with a reason and an optional expiry. Every use is recorded in the decision log and the policy report.',
  spec: obj(
    'What is waived, for which VMs, why and until when.',
    {
      policyName: objectName('The VirtualMachinePolicy to waive.'),
      rules: arr(
        'The rules to waive (built-in rule names such as maxMemory, or CEL validation names). Omitted: the whole policy.',
        str('A rule name.', { maxLength: 63 }),
        { maxItems: 64, 'x-kubernetes-list-type': 'set' },
      ),
      vmNames: arr('VMs of this namespace, by name.', objectName('A VM name.'), { maxItems: 256 }),
      vmSelector: labelSelector('VMs of this namespace whose labels match.'),
      reason: str('Why the exception is granted, for auditors. Required.', {
        minLength: 10,
        maxLength: 1024,
      }),
      expires: str(
        'When the exception stops applying (RFC 3339, for example 2027-01-31T00:00:00Z). Omitted: no expiry.',
        {
          format: 'date-time',
          maxLength: 64,
        },
      ),
    },
    {
      required: ['policyName', 'reason'],
      'x-kubernetes-validations': [
        {
          rule: 'has(self.vmNames) || has(self.vmSelector)',
          message:
            'name the VMs (vmNames) or select them (vmSelector); an exception for every VM belongs in the policy itself',
        },
      ],
    },
  ),
  status: obj('Whether the exception is in force.', {
    observedGeneration: observedGeneration(),
    conditions: conditions(
      'Active is False once the exception has expired or its policy is missing.',
    ),
  }),
  printerColumns: [
    {
      name: 'POLICY',
      type: 'string',
      jsonPath: '.spec.policyName',
      description: 'The waived policy.',
    },
    { name: 'EXPIRES', type: 'string', jsonPath: '.spec.expires', description: 'Expiry.' },
    { name: 'REASON', type: 'string', jsonPath: '.spec.reason', description: 'Why.', priority: 1 },
    {
      name: 'AGE',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
      description: 'Time since creation.',
    },
  ],
};
