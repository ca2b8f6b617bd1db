// CA rotation with two replicas behind a round-robin proxy while one of them is cut off from the
// API server by a silent link (a blackhole: nothing passes, nothing closes). The cut-off replica
// keeps serving the certificate it has, which the old CA issued; the other replica goes on
// rotating, but must not retire the old CA until the cut-off one says it serves a certificate of
// the new CA. Admissions flow through kube-apiserver the whole time: zero may fail.
import { randomBytes, X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../kube/src/client.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { SecretCertManager } from '../../webhooks/src/certs/secret-manager.ts';
import type { CertPolicy } from '../../webhooks/src/certs/plan.ts';
import {
  startWebhooks,
  unregisterWebhooks,
  type RunningWebhooks,
} from '../../webhooks/src/main.ts';
import { BlackholeProxy, kubeConfigThrough } from '../support/blackhole.ts';
import { AdmissionLoad, createLoadFixtures } from '../support/admission-load.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';
import { RoundRobinProxy } from '../support/roundrobin.ts';

const scope = `q${randomBytes(3).toString('hex')}`;
const own = `vmplane-${scope}`;
// The CA is always due: rotation runs back to back (introduce, switch, retire) for the whole test.
const policy: Partial<CertPolicy> = {
  caValidityDays: 365,
  caRenewBeforeDays: 400,
  servingValidityDays: 30,
  servingRenewBeforeDays: 1,
  propagationMs: 1000,
  reportDurationMs: 90_000,
};
let ns = '';
let rest: KubeRest;
let front: RoundRobinProxy;
let hole: BlackholeProxy;
const replicas: RunningWebhooks[] = [];

/** The certificate a replica serves, straight from its port. */
function served(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(new X509Certificate(s.getPeerX509Certificate()?.raw ?? Buffer.alloc(0)));
      s.end();
    });
    s.on('error', reject);
  });
}

/** The CAs the validating configuration's caBundle trusts right now. */
async function trusted(name: string): Promise<X509Certificate[]> {
  const { body } = await rest.request<{ webhooks: { clientConfig: { caBundle?: string } }[] }>(
    'GET',
    `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${name}`,
  );
  const pem = Buffer.from(body.webhooks[0]?.clientConfig.caBundle ?? '', 'base64').toString();
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (p) => new X509Certificate(p),
  );
}

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ns = await createNamespace('rotrep', { 'vmplane.io/webhook-scope': scope });
  await createLoadFixtures(rest, scope);
  front = new RoundRobinProxy(() => replicas.map((r) => r.port));
  const frontPort = await front.start();
  const apiPort = Number(new URL(kubeConfig().getCurrentCluster()?.server ?? '').port);
  hole = new BlackholeProxy('127.0.0.1', apiPort);
  const holePort = await hole.start();
  for (const [identity, kc] of [
    ['replica-a', kubeConfig()],
    ['replica-b', kubeConfigThrough(holePort)],
  ] as const)
    replicas.push(
      await startWebhooks({
        kc,
        identity,
        namespace: own,
        // Both keep the same configurations current; the API server reaches them through the proxy.
        register: { endpoint: { url: `https://127.0.0.1:${frontPort}` }, scope },
        certificates: { mode: 'self', checkIntervalMs: 200, policy },
        logger: pino({ level: 'silent' }),
      }),
    );
}, 120_000);

afterAll(async () => {
  if (replicas[0]) await unregisterWebhooks(kubeConfig(), replicas[0].configNames);
  await Promise.all(replicas.map((r) => r.stop()));
  await front?.stop();
  await hole?.stop();
  await rest?.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  rest?.close();
});

describe('CA rotation with a replica cut off from the API server', () => {
  it('keeps the old CA until every replica serves the new one: zero failed admissions', async () => {
    const [a, b] = replicas as [RunningWebhooks, RunningWebhooks];
    const managerA = a.certs as SecretCertManager;
    const config = a.configNames.validating;
    const untrusted: string[] = [];

    // Whether the bundle the API server uses trusts what the cut-off replica serves.
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const cert = await served(b.port);
        const cas = await trusted(config);
        if (!cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey)))
          untrusted.push(`${cert.fingerprint256} at ${new Date().toISOString()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const load = new AdmissionLoad(rest, ns, scope);
    load.start(4);

    // When the link was cut, when it came back, and when the old CA went after that.
    const at = { cut: 0, restored: 0, retiredAfterMs: 0 };
    try {
      // Rotation runs with both replicas connected for a while.
      await new Promise((r) => setTimeout(r, 3000));
      hole.blackholed = true;
      at.cut = Date.now();
      const servedByB = await served(b.port);
      // Rotation goes on at replica a up to the point where only retiring the old CA is left, and
      // there it waits: b's report (from before the cut) does not say it serves the new CA.
      const stuck = await waitUntil(
        'replica a holding an old CA past its propagation time',
        async () => {
          const s = managerA.stored;
          const since = Date.parse(s?.oldCaSince ?? '');
          return s?.oldCaPem && Date.now() - since > (policy.propagationMs ?? 0) + 1000
            ? s
            : undefined;
        },
        30_000,
        100,
      );
      await new Promise((r) => setTimeout(r, Math.max(0, at.cut + 8000 - Date.now())));
      // Eight seconds after the cut the old CA is still there, and b still serves what it served.
      const cert = await served(b.port);
      const bundle = await trusted(config);
      expect(bundle.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))).toBe(true);
      expect(cert.fingerprint256).toBe(servedByB.fingerprint256);
      expect(managerA.stored?.oldCaPem).toBe(stuck.oldCaPem);

      // The link comes back: b reloads, says so, and then the old CA goes.
      hole.blackholed = false;
      at.restored = Date.now();
      await waitUntil(
        'the old CA retired after b caught up',
        async () => {
          const s = managerA.stored;
          return s && s.oldCaPem !== stuck.oldCaPem ? true : undefined;
        },
        60_000,
        100,
      );
      at.retiredAfterMs = Date.now() - at.restored;
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      hole.blackholed = false;
      await load.stop();
      sampling = false;
      await sampler;
    }

    const { ok, failures } = load;
    console.log(
      `rotation with a replica cut off for ${((at.restored - at.cut) / 1000).toFixed(1)} s: ` +
        `${ok} admissions, ${failures.length} failed; the old CA was retired ${(at.retiredAfterMs / 1000).toFixed(1)} s ` +
        `after the link came back; samples where the bundle did not trust the cut-off replica: ${untrusted.length}; ` +
        `connections per replica ${front.served.join(', ')}`,
    );
    expect(failures.length, failures.slice(0, 5).join('\n')).toBe(0);
    expect(untrusted).toEqual([]);
    expect(ok).toBeGreaterThan(100);
    expect(front.served.every((n) => n > 0)).toBe(true);
  }, 150_000);
});
