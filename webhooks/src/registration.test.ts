import { describe, expect, it } from 'vitest';
import { webhookConfigurations } from './registration.ts';

type Hook = Record<string, unknown> & {
  clientConfig: Record<string, unknown>;
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
};

describe('webhook configurations', () => {
  const [mutating, validating] = webhookConfigurations({
    endpoint: { service: { namespace: 'vmplane', name: 'vmplane-webhooks', port: 443 } },
    caBundlePem: 'CA',
    ownNamespace: 'vmplane',
  });
  const hooks = [...(mutating.webhooks as Hook[]), ...(validating.webhooks as Hook[])];

  it('follow the good practices for every webhook', () => {
    for (const h of hooks) {
      expect(h.admissionReviewVersions).toEqual(['v1']);
      // Only the VM check writes (the disk claims), and never on a dry run.
      expect(h.sideEffects).toBe(
        h.name === 'vm.validate.vmplane.io' || h.name === 'vm.mutate.vmplane.io'
          ? 'NoneOnDryRun'
          : 'None',
      );
      expect(h.matchPolicy).toBe('Equivalent');
      // The guards on deletes and on policies fail open (see registration.ts); the rest fail closed.
      expect(h.failurePolicy).toBe(
        ['inuse.validate.vmplane.io', 'policy.validate.vmplane.io'].includes(String(h.name))
          ? 'Ignore'
          : 'Fail',
      );
      expect(h.timeoutSeconds).toBeLessThanOrEqual(5);
      expect(h.namespaceSelector.matchExpressions[0]).toEqual({
        key: 'kubernetes.io/metadata.name',
        operator: 'NotIn',
        values: ['kube-system', 'vmplane'],
      });
      expect(h.clientConfig.caBundle).toBe(Buffer.from('CA').toString('base64'));
    }
  });

  it('reinvoke mutations if needed, and skip VM updates that change neither spec nor labels', () => {
    for (const h of mutating.webhooks as Hook[]) expect(h.reinvocationPolicy).toBe('IfNeeded');
    const vm = (mutating.webhooks as Hook[])[0] as unknown as {
      matchConditions: { expression: string }[];
    };
    expect(vm.matchConditions[0]?.expression).toContain('object.spec != oldObject.spec');
  });

  it('point at the Service in a cluster, at a URL in the sandbox', () => {
    expect((mutating.webhooks as Hook[])[0]?.clientConfig.service).toEqual({
      namespace: 'vmplane',
      name: 'vmplane-webhooks',
      port: 443,
      path: '/mutate',
    });
    const [m] = webhookConfigurations({
      endpoint: { url: 'https://127.0.0.1:9443/' },
      caBundlePem: 'CA',
      ownNamespace: 'vmplane-system',
    });
    expect((m.webhooks as Hook[])[0]?.clientConfig.url).toBe('https://127.0.0.1:9443/mutate');
  });

  it('guard deletion of classes, images and disks still in use', () => {
    const inuse = (validating.webhooks as Hook[]).find(
      (h) => h.name === 'inuse.validate.vmplane.io',
    ) as unknown as { rules: { operations: string[]; resources: string[] }[] };
    expect(inuse.rules.flatMap((r) => r.resources).sort()).toEqual([
      'clustervirtualmachineimages',
      'virtualmachineclasses',
      'virtualmachinedisks',
      'virtualmachineimages',
    ]);
    expect(inuse.rules.every((r) => r.operations.join() === 'DELETE')).toBe(true);
  });

  it('send VirtualMachineService writes that change spec or labels to the policies, failing closed', () => {
    const svc = (validating.webhooks as Hook[]).find(
      (h) => h.name === 'vmservice.validate.vmplane.io',
    ) as unknown as {
      rules: Record<string, unknown>[];
      matchConditions: { expression: string }[];
      clientConfig: { service: { path: string } };
    };
    expect(svc.rules).toEqual([
      {
        apiGroups: ['vmplane.io'],
        apiVersions: ['v1alpha1'],
        operations: ['CREATE', 'UPDATE'],
        resources: ['virtualmachineservices'],
        scope: 'Namespaced',
      },
    ]);
    expect(svc.clientConfig.service.path).toBe('/validate');
    expect(svc.matchConditions[0]?.expression).toContain('object.spec != oldObject.spec');
  });

  it('let failure policy and timeout be configured', () => {
    const [m] = webhookConfigurations({
      endpoint: { url: 'https://x' },
      caBundlePem: '',
      ownNamespace: 'v',
      failurePolicy: 'Ignore',
      timeoutSeconds: 2,
    });
    expect((m.webhooks as Hook[])[0]).toMatchObject({ failurePolicy: 'Ignore', timeoutSeconds: 2 });
  });
});
