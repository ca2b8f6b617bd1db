// kube-controller-manager beside the local API server, so the sandbox and the tests are a whole
// control plane: a deleted namespace is emptied and goes, objects whose owner is gone are
// collected, claims are bound to volumes and expanded, and claims or volumes in use are protected.
// Without kubelets or a cloud, the controllers that only make sense with them are left out.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCertificate, type KeyPair } from '../../../kube/src/pki.ts';

/**
 * The controllers left out (kube-controller-manager --controllers names, v1.35):
 * - node-lifecycle-controller and taint-eviction-controller: no kubelet renews a node's lease
 *   here, so they would mark the local engine's node unreachable and evict what runs on it;
 * - the cloud ones (cloud-node-lifecycle, service-lb, node-route) and node-ipam: no cloud, no
 *   pod network to carve;
 * - certificatesigningrequest signing, approving and cleaning: no kubelet asks for certificates,
 *   and there is no cluster signing key.
 * Everything else a cluster runs by default runs (`*`): garbage collector, namespace, the
 * persistent volume binder and expander, pvc and pv protection, service accounts, the root CA
 * publisher, deployments, jobs, endpoints...
 */
export const CONTROLLERS_LEFT_OUT = [
  'node-lifecycle-controller',
  'taint-eviction-controller',
  'cloud-node-lifecycle-controller',
  'service-lb-controller',
  'node-route-controller',
  'node-ipam-controller',
  'certificatesigningrequest-signing-controller',
  'certificatesigningrequest-approving-controller',
  'certificatesigningrequest-cleaner-controller',
];

/** The identity the bootstrap RBAC policy grants kube-controller-manager's own permissions. */
export const CONTROLLER_MANAGER_USER = 'system:kube-controller-manager';

/** Its command line: dir holds the API server's files (ca.crt, sa.key) and its kubeconfig. */
export function controllerManagerArgs(p: { dir: string; port: number }): string[] {
  const f = (n: string): string => join(p.dir, n);
  return [
    `--kubeconfig=${f('controller-manager.kubeconfig')}`,
    // Each controller acts as its own service account in kube-system (as kubeadm runs it), so
    // what one may do is what the bootstrap policy grants that controller, nothing more.
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${f('sa.key')}`,
    `--root-ca-file=${f('ca.crt')}`,
    `--controllers=*,${CONTROLLERS_LEFT_OUT.map((c) => `-${c}`).join(',')}`,
    '--leader-elect=false',
    // Its own /healthz on loopback only (always allowed without credentials), to wait on.
    '--bind-address=127.0.0.1',
    `--secure-port=${p.port}`,
    `--tls-cert-file=${f('controller-manager.crt')}`,
    `--tls-private-key-file=${f('controller-manager.key')}`,
    '--v=1',
  ];
}

/**
 * Writes what it needs into dir: a client certificate for CONTROLLER_MANAGER_USER in a kubeconfig,
 * and a serving certificate for its /healthz, both from the API server's CA.
 */
export function writeControllerManagerFiles(
  dir: string,
  ca: KeyPair,
  server: string,
  kubeconfigYaml: (server: string, caPem: string, user: KeyPair, name?: string) => string,
): { servingCaPem: string } {
  const client = issueCertificate(ca, {
    commonName: CONTROLLER_MANAGER_USER,
    usages: ['client'],
    validityDays: 365,
  });
  const serving = issueCertificate(ca, {
    commonName: 'kube-controller-manager',
    ipAddresses: ['127.0.0.1'],
    usages: ['server'],
    validityDays: 365,
  });
  const files: Record<string, string> = {
    'controller-manager.kubeconfig': kubeconfigYaml(
      server,
      ca.certPem,
      client,
      'controller-manager',
    ),
    'controller-manager.crt': serving.certPem,
    'controller-manager.key': serving.keyPem,
  };
  for (const [n, c] of Object.entries(files)) writeFileSync(join(dir, n), c, { mode: 0o600 });
  return { servingCaPem: ca.certPem };
}
