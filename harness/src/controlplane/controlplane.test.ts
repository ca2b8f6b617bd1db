import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { apiServerArgs, freePort, kubeconfigYaml } from './controlplane.ts';

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
