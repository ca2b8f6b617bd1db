// The Mutating- and ValidatingWebhookConfigurations, built from one description. The sandbox
// points them at the local server by URL; the chart at the Service. Settings follow Kubernetes'
// webhook good practices: v1 reviews only, no side effects but the disk and address claims (none
// on dry runs), small timeouts, fail closed for validation, never catching kube-system or vmplane's
// own namespace.

import {
  SPEC_LABELS_OR_ANNOTATIONS_CHANGED,
  SPEC_OR_LABELS_CHANGED,
} from '../../policy/src/match-conditions.ts';

export const MUTATING_NAME = 'vmplane-mutating';
export const VALIDATING_NAME = 'vmplane-validating';

export type Endpoint =
  { url: string } | { service: { namespace: string; name: string; port: number } };

export interface RegistrationOptions {
  endpoint: Endpoint;
  caBundlePem: string;
  /** vmplane's own namespace, never caught (nor kube-system). */
  ownNamespace: string;
  failurePolicy?: 'Fail' | 'Ignore';
  timeoutSeconds?: number;
  /** Name suffix and label scope, so tests sharing one API server do not catch each other. */
  scope?: string;
  /** Whether a policy checks VM deletions (see vmDeleteRules); false until one does. */
  checkDeletes?: boolean;
}

/** The name of the webhook that sees VM deletions (without the scope suffix). */
export const VM_DELETE_WEBHOOK = 'vm-delete.validate.vmplane.io';

/**
 * The rules of the VM DELETE webhook: none unless a policy checks deletions. The webhook replicas
 * keep them current as policies come and go (DeleteRegistration), so with no such policy a
 * webhook outage never blocks deleting VMs or their namespaces.
 */
export function vmDeleteRules(checkDeletes: boolean): Json[] {
  return checkDeletes ? [rule(['DELETE'], ['virtualmachines'])] : [];
}

type Json = Record<string, unknown>;

function clientConfig(endpoint: Endpoint, path: string, caBundlePem: string): Json {
  const caBundle = Buffer.from(caBundlePem).toString('base64');
  if ('url' in endpoint) return { url: `${endpoint.url.replace(/\/$/, '')}${path}`, caBundle };
  return { service: { ...endpoint.service, path }, caBundle };
}

function rule(
  operations: string[],
  resources: string[],
  scope: '*' | 'Namespaced' | 'Cluster' = '*',
): Json {
  return { apiGroups: ['vmplane.io'], apiVersions: ['v1alpha1'], operations, resources, scope };
}

/**
 * The VirtualMachineService webhook's rules and settings: the policies' service rules
 * (allowedServiceTypes), on writes that change spec or labels; it fails closed like the VM checks.
 */
function vmServiceWebhook(): [Json[], Json] {
  return [
    [rule(['CREATE', 'UPDATE'], ['virtualmachineservices'], 'Namespaced')],
    { matchConditions: [SPEC_OR_LABELS_CHANGED] },
  ];
}

export function webhookConfigurations(o: RegistrationOptions): [Json, Json] {
  const suffix = o.scope ? `-${o.scope}` : '';
  const namespaceSelector: Json = {
    matchExpressions: [
      {
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: [...new Set(['kube-system', o.ownNamespace])],
      },
      ...(o.scope ? [{ key: 'vmplane.io/webhook-scope', operator: 'In', values: [o.scope] }] : []),
    ],
  };
  // Cluster-scoped objects (classes, cluster images) are not selected by namespace; scope them by label.
  const objectSelector: Json = o.scope
    ? { matchLabels: { 'vmplane.io/webhook-scope': o.scope } }
    : {};
  const common = (name: string, path: string, rules: Json[], extra: Json = {}): Json => ({
    name: `${name}${o.scope ? `.${o.scope}` : ''}`,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    matchPolicy: 'Equivalent',
    timeoutSeconds: o.timeoutSeconds ?? 5,
    failurePolicy: o.failurePolicy ?? 'Fail',
    namespaceSelector,
    clientConfig: clientConfig(o.endpoint, path, o.caBundlePem),
    rules,
    ...extra,
  });
  const labels = { 'app.kubernetes.io/part-of': 'vmplane' };
  const mutating: Json = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: `${MUTATING_NAME}${suffix}`, labels },
    webhooks: [
      // It claims MAC and static-pool addresses (NetworkAddresses), never on a dry run.
      common('vm.mutate.vmplane.io', '/mutate', [rule(['CREATE', 'UPDATE'], ['virtualmachines'])], {
        reinvocationPolicy: 'IfNeeded',
        matchConditions: [SPEC_OR_LABELS_CHANGED],
        sideEffects: 'NoneOnDryRun',
      }),
      common('disk.mutate.vmplane.io', '/mutate', [rule(['CREATE'], ['virtualmachinedisks'])], {
        reinvocationPolicy: 'IfNeeded',
      }),
    ],
  };
  const validating: Json = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: `${VALIDATING_NAME}${suffix}`, labels },
    webhooks: [
      common(
        'vm.validate.vmplane.io',
        '/validate',
        [rule(['CREATE', 'UPDATE'], ['virtualmachines'])],
        // It writes the disk claims (vmplane.io/attached-to), never on a dry run.
        { matchConditions: [SPEC_LABELS_OR_ANNOTATIONS_CHANGED], sideEffects: 'NoneOnDryRun' },
      ),
      common(VM_DELETE_WEBHOOK, '/validate', vmDeleteRules(o.checkDeletes ?? false)),
      common('disk.validate.vmplane.io', '/validate', [
        rule(['CREATE', 'UPDATE'], ['virtualmachinedisks']),
      ]),
      common('vmservice.validate.vmplane.io', '/validate', ...vmServiceWebhook()),
      // Fails open too: the engine compiles every policy again, and one whose CEL does not compile
      // reports Ready=False with the error; failing closed would deadlock an install that creates
      // policies before the webhook pods are ready.
      common(
        'policy.validate.vmplane.io',
        '/validate',
        [rule(['CREATE', 'UPDATE'], ['virtualmachinepolicies'], 'Cluster')],
        { objectSelector, failurePolicy: 'Ignore' },
      ),
      // The in-use guard fails open: it saves users from a mistake, it is no security boundary, and
      // failing closed would block `helm uninstall` (which deletes the default classes) whenever
      // the webhook pods are gone.
      common(
        'inuse.validate.vmplane.io',
        '/validate',
        [
          rule(['DELETE'], ['virtualmachineclasses', 'clustervirtualmachineimages'], 'Cluster'),
          rule(['DELETE'], ['virtualmachineimages', 'virtualmachinedisks'], 'Namespaced'),
        ],
        { objectSelector, failurePolicy: 'Ignore' },
      ),
    ],
  };
  return [mutating, validating];
}
