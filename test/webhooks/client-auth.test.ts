// Who may send admission reviews: the webhooks, started as the sandbox and the chart's
// clientCertificate mode start them, answer /mutate and /validate only for kube-apiserver, which
// presents its webhook client certificate (the control plane's admission configuration). Any
// other caller on the network gets a 403 before its review is read; the probes stay open.
import { randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../api/src/wellknown.ts';
import { createCertificateAuthority, issueCertificate, type KeyPair } from '../../kube/src/pki.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import type { RunningWebhooks } from '../../webhooks/src/main.ts';
import { createLoadFixtures } from '../support/admission-load.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { startScopedWebhooks, stopScopedWebhooks } from '../support/webhooks.ts';

const scope = `a${randomBytes(3).toString('hex')}`;
const SCOPE_LABEL = { 'vmplane.io/webhook-scope': scope };
let ns = '';
let rest: KubeRest;
let webhooks: RunningWebhooks;

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ns = await createNamespace('clientauth', SCOPE_LABEL);
  await createLoadFixtures(rest, scope);
  webhooks = await startScopedWebhooks(scope);
}, 120_000);

afterAll(async () => {
  await stopScopedWebhooks(webhooks);
  rest?.close();
});

function call(
  method: string,
  path: string,
  client?: KeyPair,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port: webhooks.port,
        path,
        method,
        rejectUnauthorized: false,
        ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
        headers: data
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }
          : {},
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const review = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: randomUUID(),
    kind: { group: 'vmplane.io', version: 'v1alpha1', kind: 'VirtualMachineClass' },
    resource: { group: 'vmplane.io', version: 'v1alpha1', resource: 'virtualmachineclasses' },
    operation: 'DELETE',
    name: `c-${scope}`,
  },
};

const REFUSED =
  'admission reviews are accepted only from the API server: no client certificate signed by "vmplane-sandbox-webhook-client-ca"';

describe('admission reviews from callers other than kube-apiserver', () => {
  it('are refused with 403 without a client certificate, on every admission path', async () => {
    for (const path of ['/validate', '/mutate', '/other']) {
      const r = await call('POST', path, undefined, review);
      expect(r.status, `${path}: ${r.text}`).toBe(403);
      expect(r.text).toBe(REFUSED);
    }
  });

  it('are refused with a certificate of another CA, even with the API server’s name', async () => {
    const other = createCertificateAuthority('vmplane-sandbox-webhook-client-ca', 1);
    const forged = issueCertificate(other, {
      commonName: 'kube-apiserver-webhook-client',
      usages: ['client'],
      validityDays: 1,
    });
    const r = await call('POST', '/validate', forged, review);
    expect(r.status).toBe(403);
    expect(r.text).toContain(`${REFUSED} (the one presented: `);
  });

  it('leave the probes open to callers without a certificate', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/readyz')).status).toBe(200);
  });

  it('do not stop kube-apiserver, which presents its webhook client certificate', async () => {
    const got = await rest.create<{ spec: { powerState?: string } }>(
      {
        apiVersion: API_VERSION,
        kind: 'VirtualMachine',
        metadata: { name: 'through-the-api-server', namespace: ns },
        spec: {
          className: `c-${scope}`,
          image: { name: `i-${scope}` },
          bootDisk: { storageClassName: `sc-${scope}` },
        },
      },
      { dryRun: true },
    );
    // Mutated by the webhook: the API server's call was answered.
    expect(got.spec.powerState).toBe('PoweredOn');
  });
});
