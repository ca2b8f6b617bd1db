// VirtualMachineService admission against the policies: allowedServiceTypes denies, warns or is
// waived by an exception, only in the namespaces (and for the service labels) a policy selects,
// and VM rules and CEL validations never run on a service.
import { describe, expect, it } from 'vitest';
import type {
  VirtualMachinePolicy,
  VirtualMachinePolicyException,
} from '../../api/generated/types.ts';
import { staticLookups } from '../../kube/src/lookups.ts';
import { PolicyCompiler } from '../../policy/src/index.ts';
import { API_VERSION } from '../../test/support/builders.ts';
import { celEngine } from '../../test/support/cel.ts';
import type { AdmissionRequest } from './admission.ts';
import { validateVmService } from './vmservice-policy.ts';

const compiler = new PolicyCompiler(await celEngine());

const policy = (
  name: string,
  spec: Partial<VirtualMachinePolicy['spec']>,
): VirtualMachinePolicy => ({
  apiVersion: API_VERSION,
  kind: 'VirtualMachinePolicy',
  metadata: { name, generation: 1, uid: name },
  spec: { validationActions: ['Deny'], ...spec },
});

const noLoadBalancers = policy('no-lb-outside-prod', {
  match: {
    namespaceSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['prod'] }] },
  },
  rules: { allowedServiceTypes: ['ClusterIP'], maxDisks: 0 },
  // A VM check that would fail on anything: it must not run on services.
  validations: [{ name: 'never', expression: 'false' }],
});

const lookups = (
  policies: VirtualMachinePolicy[],
  exceptions: VirtualMachinePolicyException[] = [],
): ReturnType<typeof staticLookups> =>
  staticLookups({
    namespaces: ['dev', 'prod'].map((n) => ({
      metadata: { name: n, labels: { 'kubernetes.io/metadata.name': n, tier: n } },
    })),
    policies,
    exceptions,
  });

const service = (
  namespace: string,
  type?: string,
  labels: Record<string, string> = {},
): Record<string, unknown> => ({
  apiVersion: API_VERSION,
  kind: 'VirtualMachineService',
  metadata: { name: 'web', namespace, labels },
  spec: {
    ...(type ? { type } : {}),
    selector: { app: 'web' },
    ports: [
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
      { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 },
    ],
  },
});

const request = (
  namespace: string,
  object: Record<string, unknown>,
  operation: AdmissionRequest['operation'] = 'CREATE',
): AdmissionRequest => ({
  uid: 'u-1',
  kind: { group: 'vmplane.io', version: 'v1alpha1', kind: 'VirtualMachineService' },
  operation,
  namespace,
  object,
  ...(operation === 'UPDATE' ? { oldObject: service(namespace) } : {}),
});

describe('VirtualMachineService admission against allowedServiceTypes', () => {
  it('refuses a LoadBalancer where only ClusterIP is allowed, naming spec.type, the value, the ports, the allowed types and the policy', async () => {
    for (const op of ['CREATE', 'UPDATE'] as const) {
      const h = await validateVmService(
        request('dev', service('dev', 'LoadBalancer'), op),
        lookups([noLoadBalancers]),
        compiler,
      );
      expect(h.outcome, op).toBe('denied');
      expect(h.response).toMatchObject({ allowed: false, status: { code: 403 } });
      expect(h.response.status?.message).toBe(
        'policy "no-lb-outside-prod" rule allowedServiceTypes: spec.type: "LoadBalancer" is not allowed in namespace dev (it would expose 80/TCP, 53/UDP); allowed: ClusterIP',
      );
    }
  });

  it('admits ClusterIP (also when spec.type is left out) and every type where the policy does not match', async () => {
    const l = lookups([noLoadBalancers]);
    for (const [ns, type] of [
      ['dev', 'ClusterIP'],
      ['dev', undefined],
      ['prod', 'LoadBalancer'],
      ['prod', 'NodePort'],
    ] as const)
      expect(
        (await validateVmService(request(ns, service(ns, type)), l, compiler)).outcome,
        `${ns} ${type}`,
      ).toBe('allowed');
    const nodePort = await validateVmService(
      request('dev', service('dev', 'NodePort')),
      l,
      compiler,
    );
    expect(nodePort.response.status?.message).toContain('spec.type: "NodePort" is not allowed');
  });

  it('warns under Warn, and selects services by their own labels with vmSelector', async () => {
    const warn = policy('lb-warn', {
      validationActions: ['Warn', 'Audit'],
      match: { vmSelector: { matchLabels: { exposure: 'internal' } } },
      rules: { allowedServiceTypes: ['ClusterIP', 'NodePort'] },
    });
    const internal = await validateVmService(
      request('prod', service('prod', 'LoadBalancer', { exposure: 'internal' })),
      lookups([warn]),
      compiler,
    );
    expect(internal.outcome).toBe('warned');
    expect(internal.response.warnings).toEqual([
      'policy "lb-warn" rule allowedServiceTypes: spec.type: "LoadBalancer" is not allowed in namespace prod (it would expose 80/TCP, 53/UDP); allowed: ClusterIP, NodePort',
    ]);
    expect(internal.notes[0]).toMatch(/^audit: policy lb-warn rule allowedServiceTypes: /);
    const other = await validateVmService(
      request('prod', service('prod', 'LoadBalancer', { exposure: 'public' })),
      lookups([warn]),
      compiler,
    );
    expect(other.outcome).toBe('allowed');
  });

  it('lets an exception naming the service waive the rule, and says so in the decision log', async () => {
    const ex: VirtualMachinePolicyException = {
      apiVersion: API_VERSION,
      kind: 'VirtualMachinePolicyException',
      metadata: { name: 'demo-lb', namespace: 'dev' },
      spec: {
        policyName: 'no-lb-outside-prod',
        rules: ['allowedServiceTypes'],
        vmNames: ['web'],
        reason: 'the demo needs an address outside the cluster',
      },
    };
    const h = await validateVmService(
      request('dev', service('dev', 'LoadBalancer')),
      lookups([noLoadBalancers], [ex]),
      compiler,
    );
    expect(h.outcome).toBe('allowed');
    expect(h.notes).toEqual([
      'exception dev/demo-lb waived policy no-lb-outside-prod rule allowedServiceTypes',
    ]);
  });
});
