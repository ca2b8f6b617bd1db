// allowedServiceTypes through the real kube-apiserver: vmplane's VirtualMachineService webhook
// refuses a LoadBalancer (and a NodePort) where a Deny policy allows only ClusterIP, with the
// policy, spec.type, the value and the allowed types in kubectl's message; admits it where the
// policy does not match, or where an exception names the service; warns under Warn.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import type { RunningWebhooks } from '../../webhooks/src/main.ts';
import { createNamespace, kubeConfig, kubectl } from '../support/cluster.ts';
import { startScopedWebhooks, stopScopedWebhooks } from '../support/webhooks.ts';

const scope = `s${randomBytes(3).toString('hex')}`;
const SCOPE = { 'vmplane.io/webhook-scope': scope };
const n = (s: string): string => `${s}-${scope}`;
const json = (o: unknown): string => JSON.stringify(o);
let rest: KubeRest;
let webhooks: RunningWebhooks;
let dev = '';
let prod = '';
const policies: string[] = [];

function service(name: string, namespace: string, type?: string): KubeObjectLike {
  return {
    apiVersion: API_VERSION,
    kind: 'VirtualMachineService',
    metadata: { name, namespace },
    spec: {
      ...(type ? { type } : {}),
      selector: { app: 'web' },
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
    },
  } as KubeObjectLike;
}

async function createPolicy(name: string, spec: Record<string, unknown>): Promise<void> {
  await rest.create({
    apiVersion: API_VERSION,
    kind: 'VirtualMachinePolicy',
    metadata: { name: n(name), labels: SCOPE },
    spec,
  } as KubeObjectLike);
  policies.push(n(name));
  await waitUntil(`the webhook to see policy ${n(name)}`, async () =>
    webhooks.cache.policies().some((p) => p.metadata.name === n(name)),
  );
}

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  dev = await createNamespace('svc-dev', { ...SCOPE, 'svc-test': scope, tier: 'dev' });
  prod = await createNamespace('svc-prod', { ...SCOPE, 'svc-test': scope, tier: 'prod' });
  webhooks = await startScopedWebhooks(scope);
  await createPolicy('cluster-ip-outside-prod', {
    validationActions: ['Deny'],
    match: {
      namespaceSelector: {
        matchLabels: { 'svc-test': scope },
        matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['prod'] }],
      },
    },
    rules: { allowedServiceTypes: ['ClusterIP'] },
  });
}, 120_000);

afterAll(async () => {
  await stopScopedWebhooks(webhooks);
  for (const p of policies)
    await kubectl(['delete', 'vmpolicy', p, '--ignore-not-found', '--wait=false']);
  for (const ns of [dev, prod].filter(Boolean))
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  rest.close();
});

const refusal = (ns: string, type: string, policy = n('cluster-ip-outside-prod')): string =>
  `admission webhook "vmservice.validate.vmplane.io.${scope}" denied the request: policy "${policy}" rule allowedServiceTypes: spec.type: "${type}" is not allowed in namespace ${ns} (it would expose 80/TCP); allowed: ClusterIP`;

describe('allowedServiceTypes through kube-apiserver', () => {
  it('refuses a LoadBalancer service outside production, saying which policy, field, value and types', async () => {
    const r = await kubectl(['apply', '-f', '-'], json(service('public', dev, 'LoadBalancer')));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(refusal(dev, 'LoadBalancer'));
    expect((await kubectl(['get', 'vmsvc', 'public', '-n', dev])).stderr).toContain('NotFound');
  });

  it('admits ClusterIP (spec.type left out too) there, and a LoadBalancer in production', async () => {
    for (const [name, ns, type] of [
      ['internal', dev, 'ClusterIP'],
      ['plain', dev, undefined],
      ['public', prod, 'LoadBalancer'],
    ] as const) {
      const r = await kubectl(['apply', '-f', '-'], json(service(name, ns, type)));
      expect(r.stderr, `${ns}/${name}`).toBe('');
    }
  });

  it('refuses an update that turns a ClusterIP service into a NodePort one', async () => {
    const r = await kubectl(['apply', '-f', '-'], json(service('internal', dev, 'NodePort')));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(refusal(dev, 'NodePort'));
  });

  it('admits the service an exception names, and warns under a Warn policy', async () => {
    await rest.create({
      apiVersion: API_VERSION,
      kind: 'VirtualMachinePolicyException',
      metadata: { name: 'demo-lb', namespace: dev },
      spec: {
        policyName: n('cluster-ip-outside-prod'),
        rules: ['allowedServiceTypes'],
        vmNames: ['demo'],
        reason: 'the demo needs an address outside the cluster',
      },
    } as KubeObjectLike);
    await waitUntil('the webhook to see the exception', async () =>
      webhooks.cache.exceptions(dev).some((e) => e.metadata.name === 'demo-lb'),
    );
    const waived = await kubectl(['apply', '-f', '-'], json(service('demo', dev, 'LoadBalancer')));
    expect(waived.stderr).toBe('');
    await createPolicy('warn-lb', {
      validationActions: ['Warn'],
      match: { namespaceSelector: { matchLabels: { 'svc-test': scope, tier: 'prod' } } },
      rules: { allowedServiceTypes: ['ClusterIP', 'NodePort'] },
    });
    const warned = await kubectl(
      ['apply', '-f', '-'],
      json(service('second', prod, 'LoadBalancer')),
    );
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain(
      `Warning: policy "${n('warn-lb')}" rule allowedServiceTypes: spec.type: "LoadBalancer" is not allowed in namespace ${prod} (it would expose 80/TCP); allowed: ClusterIP, NodePort`,
    );
  });
});
