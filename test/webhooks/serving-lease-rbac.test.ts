// The webhook Role of the chart (charts/vmplane/templates/rbac.yaml, certificates.mode self),
// applied for real: the webhooks' ServiceAccount must not be able to update or delete other
// Leases of the release namespace (the controllers' leader Lease among them), and the
// certificate manager, running with exactly that Role, must still rotate and report what it
// serves.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { KubeRest, type KubeObjectLike } from '../../kube/src/rest.ts';
import { SecretCertManager } from '../../webhooks/src/certs/secret-manager.ts';
import { DEFAULT_POLICY } from '../../webhooks/src/certs/plan.ts';
import { kubeConfig, kubectl } from '../support/cluster.ts';
import { inject } from 'vitest';

const scope = `l${randomBytes(3).toString('hex')}`;
const own = `vmplane-${scope}`;
const SA = `system:serviceaccount:${own}:vmplane-webhooks`;
let rest: KubeRest;

/** The chart's webhook Role as rendered with certificates.mode self, for namespace `ns`. */
function chartWebhookRole(ns: string): KubeObjectLike {
  const text = readFileSync(join(REPO_ROOT, 'charts/vmplane/templates/rbac.yaml'), 'utf8');
  const doc = text
    .split(/^---$/m)
    .find((d) => /kind: Role\nmetadata:\n {2}name: vmplane-webhooks\n/.test(d));
  if (!doc) throw new Error('rbac.yaml: no Role vmplane-webhooks');
  const selfMode = doc
    .replace(/\{\{- else \}\}[\s\S]*?\{\{- end \}\}/, '')
    .split('\n')
    .filter((l) => !l.includes('{{-'))
    .join('\n')
    .replaceAll('{{ .Release.Namespace }}', ns);
  return parse(selfMode) as KubeObjectLike;
}

/** A client with the ServiceAccount's own token: only what its Role grants. */
async function serviceAccountClient(): Promise<KubeConfig> {
  const { body } = await rest.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${own}/serviceaccounts/vmplane-webhooks/token`,
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} } },
  );
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: inject('apiServer'),
        caData: kubeConfig().getCurrentCluster()?.caData,
        skipTLSVerify: false,
      },
    ],
    users: [{ name: 'sa', token: body.status.token }],
    contexts: [{ name: 'sa', cluster: 'c', user: 'sa' }],
    currentContext: 'sa',
  });
  return kc;
}

function manager(kc: KubeConfig, identity: string): SecretCertManager {
  return new SecretCertManager({
    kc,
    namespace: own,
    secretName: 'vmplane-webhook-tls',
    caSecretName: 'vmplane-webhook-ca',
    policy: { ...DEFAULT_POLICY, dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] },
    webhookConfigurations: [],
    identity,
  });
}

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  await rest.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: own } });
  await rest.create({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'vmplane-webhooks', namespace: own },
  });
  await rest.create(chartWebhookRole(own));
  await rest.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'vmplane-webhooks', namespace: own },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'vmplane-webhooks' },
    subjects: [{ kind: 'ServiceAccount', name: 'vmplane-webhooks', namespace: own }],
  } as KubeObjectLike);
  // What the chart makes at install: the certificate Secrets (here by a first manager with the
  // admin's rights) and the controllers' leader Lease, which the webhooks must not touch.
  const first = manager(kubeConfig(), 'installer');
  await first.reconcile();
  first.stop();
  await rest.create({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'vmplane-controllers', namespace: own },
    spec: { holderIdentity: 'controller-0', leaseDurationSeconds: 15 },
  } as KubeObjectLike);
}, 60_000);

afterAll(async () => {
  await rest?.request('DELETE', `/api/v1/namespaces/${own}`).catch(() => undefined);
  rest?.close();
});

const canI = async (verb: string, resource: string): Promise<string> =>
  (await kubectl(['auth', 'can-i', verb, resource, '-n', own, '--as', SA])).stdout.trim();

describe("the webhooks' Role on Leases", () => {
  it("cannot update, patch or delete the controllers' leader Lease, nor create Leases", async () => {
    expect(await canI('update', 'leases/vmplane-controllers')).toBe('no');
    expect(await canI('patch', 'leases/vmplane-controllers')).toBe('no');
    expect(await canI('delete', 'leases/vmplane-controllers')).toBe('no');
    expect(await canI('create', 'leases')).toBe('no');
    expect(await canI('list', 'leases')).toBe('no');
  });

  it('still lets the certificate manager report what each replica serves', async () => {
    const sa = await serviceAccountClient();
    for (const id of ['webhooks-a', 'webhooks-b']) {
      const m = manager(sa, id);
      await m.reconcile();
      expect(m.reporting, id).toBe(true);
      m.stop();
    }
  });
});
