import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { apiServerArgs, freePort, kubeconfigYaml } from './controlplane.ts';
import { admissionConfigYaml, webhookClientKubeconfigYaml } from './webhook-client.ts';

describe('control plane launcher', () => {
  it('starts kube-apiserver with RBAC, loopback only, client certificates and service-account keys', () => {
    const args = apiServerArgs({ etcdUrl: 'http://127.0.0.1:1', port: 6443, dir: '/d' });
    expect(args).toEqual(
      expect.arrayContaining([
        '--authorization-mode=RBAC',
        '--bind-address=127.0.0.1',
        '--secure-port=6443',
        '--client-ca-file=/d/ca.crt',
        '--service-account-issuer=https://127.0.0.1:6443/',
        '--service-account-signing-key-file=/d/sa.key',
        '--etcd-servers=http://127.0.0.1:1',
      ]),
    );
  });

  it('calls admission webhooks with a client certificate of their own, for every webhook', () => {
    const args = apiServerArgs({ etcdUrl: 'http://127.0.0.1:1', port: 6443, dir: '/d' });
    expect(args).toContain('--admission-control-config-file=/d/admission-config.yaml');
    const config = parse(admissionConfigYaml('/d/webhook-client.kubeconfig')) as {
      apiVersion: string;
      kind: string;
      plugins: { name: string; configuration: Record<string, string> }[];
    };
    expect(config).toMatchObject({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AdmissionConfiguration',
    });
    expect(config.plugins.map((p) => p.name).sort()).toEqual([
      'MutatingAdmissionWebhook',
      'ValidatingAdmissionWebhook',
    ]);
    for (const p of config.plugins)
      expect(p.configuration).toEqual({
        apiVersion: 'apiserver.config.k8s.io/v1',
        kind: 'WebhookAdmissionConfiguration',
        kubeConfigFile: '/d/webhook-client.kubeconfig',
      });
    const kc = parse(webhookClientKubeconfigYaml({ certPem: 'CERT', keyPem: 'KEY' })) as {
      users: { name: string; user: Record<string, string> }[];
    };
    expect(kc.users).toEqual([
      {
        name: '*',
        user: {
          'client-certificate-data': Buffer.from('CERT').toString('base64'),
          'client-key-data': Buffer.from('KEY').toString('base64'),
        },
      },
    ]);
  });

  it('writes a kubeconfig with embedded credentials', () => {
    const kc = parse(
      kubeconfigYaml('https://127.0.0.1:6443', 'CA', { certPem: 'CERT', keyPem: 'KEY' }),
    ) as {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
      users: { user: Record<string, string> }[];
      'current-context': string;
    };
    expect(kc.clusters[0]?.cluster.server).toBe('https://127.0.0.1:6443');
    expect(
      Buffer.from(kc.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString(),
    ).toBe('CA');
    expect(Buffer.from(kc.users[0]?.user['client-key-data'] ?? '', 'base64').toString()).toBe(
      'KEY',
    );
    expect(kc['current-context']).toBe('vmplane');
  });

  it('finds free loopback ports', async () => {
    const [a, b] = await Promise.all([freePort(), freePort()]);
    expect(a).toBeGreaterThan(1024);
    expect(b).toBeGreaterThan(1024);
  });
});
