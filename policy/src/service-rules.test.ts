// The rules for VirtualMachineServices (service-rules.ts): allowedServiceTypes on its own, and
// evaluation keeping VM rules and service rules apart, so a policy with both reports each only
// for its own kind (the audit of VMs never sees allowedServiceTypes).
import { describe, expect, it } from 'vitest';
import { celEngine } from '../../test/support/cel.ts';
import { lookups, policy, results, vm } from '../../test/support/policy.ts';
import { buildContext, buildServiceContext } from './context.ts';
import { compilePolicy } from './compile.ts';
import { evaluatePolicies } from './evaluate.ts';
import { allowedServiceTypes, serviceType } from './service-rules.ts';
import type { EvalContext, VirtualMachineServiceLike } from './types.ts';

const engine = await celEngine();

const svc = (type?: string, ports = [{ port: 443 }]): VirtualMachineServiceLike => ({
  metadata: { name: 'web', namespace: 'dev' },
  spec: { ...(type ? { type } : {}), ports },
});

describe('allowedServiceTypes', () => {
  it('holds for an allowed type, ClusterIP when spec.type is left out', () => {
    expect(serviceType(svc())).toBe('ClusterIP');
    expect(allowedServiceTypes(['ClusterIP'], svc())).toBeUndefined();
    expect(allowedServiceTypes(['ClusterIP', 'NodePort'], svc('NodePort'))).toBeUndefined();
  });

  it('names spec.type, the value, the namespace, the ports it would expose and the allowed types', () => {
    expect(allowedServiceTypes(['ClusterIP'], svc('LoadBalancer'))?.message).toBe(
      'spec.type: "LoadBalancer" is not allowed in namespace dev (it would expose 443/TCP); allowed: ClusterIP',
    );
    expect(allowedServiceTypes(['LoadBalancer'], svc(undefined, []))?.message).toBe(
      'spec.type: "ClusterIP" is not allowed in namespace dev; allowed: LoadBalancer',
    );
  });
});

describe('a policy with VM rules and service rules', () => {
  const both = policy({
    validationActions: ['Deny'],
    rules: { maxDisks: 0, allowedServiceTypes: ['ClusterIP'] },
    validations: [{ name: 'never', expression: 'false' }],
  });

  // A generous CEL time budget: the test is about which rules run, not speed.
  const evaluate = async (ctx: EvalContext, p = both): Promise<string[]> =>
    results(
      await evaluatePolicies(engine, [await compilePolicy(engine, p)], [], ctx, {
        includeSkips: true,
        celTimeBudgetMs: 10_000,
      }),
    );

  it('checks a VM with the VM rules and CEL only', async () => {
    const ctx = buildContext({ operation: 'CREATE', object: vm(), namespace: 'dev' }, lookups());
    expect(await evaluate(ctx)).toEqual(['maxDisks:fail', 'never:fail']);
  });

  it('checks a service with the service rules only', async () => {
    const ctx = buildServiceContext(
      { operation: 'CREATE', object: svc('LoadBalancer'), namespace: 'dev' },
      lookups(),
    );
    expect(await evaluate(ctx)).toEqual(['allowedServiceTypes:fail']);
    const prod = policy({
      validationActions: ['Deny'],
      match: { namespaceSelector: { matchLabels: { tier: 'production' } } },
      rules: { allowedServiceTypes: ['ClusterIP'] },
    });
    expect(await evaluate(ctx, prod)).toEqual(['allowedServiceTypes:skip']);
  });
});
