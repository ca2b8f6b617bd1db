// How kube-apiserver authenticates itself to admission webhooks: an admission configuration whose
// webhook plugins use a kubeconfig with one client certificate for every webhook (user "*").
// The control plane writes these files; webhooks started with the CA that issued the certificate
// answer admission reviews from this API server only (webhooks/src/client-auth.ts).
import { stringify } from 'yaml';
import type { KeyPair } from '../../../kube/src/pki.ts';

/** The common name of the client certificate the API server presents to admission webhooks. */
export const WEBHOOK_CLIENT = 'kube-apiserver-webhook-client';

/**
 * kube-apiserver's admission configuration: the webhook admission plugins (mutating and
 * validating) use a kubeconfig whose user `*` (any webhook) carries the webhook client
 * certificate, so every webhook it calls can tell it apart from other callers.
 */
export function admissionConfigYaml(webhookKubeconfigPath: string): string {
  const plugin = (name: string): Record<string, unknown> => ({
    name,
    configuration: {
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'WebhookAdmissionConfiguration',
      kubeConfigFile: webhookKubeconfigPath,
    },
  });
  return stringify({
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AdmissionConfiguration',
    plugins: [plugin('ValidatingAdmissionWebhook'), plugin('MutatingAdmissionWebhook')],
  });
}

/** The kubeconfig of the webhook admission plugins: one client certificate for every webhook. */
export function webhookClientKubeconfigYaml(client: KeyPair): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    users: [
      {
        name: '*',
        user: {
          'client-certificate-data': b64(client.certPem),
          'client-key-data': b64(client.keyPem),
        },
      },
    ],
  });
}
