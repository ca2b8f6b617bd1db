// Certificate rotation while admissions flow through kube-apiserver: zero failures. The policy
// makes the CA always due for renewal, so rotation runs back to back (introduce a CA into the
// bundle, switch the serving certificate to it, retire the old CA) for the whole test.
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:tls';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeRest } from '../../kube/src/rest.ts';
import { type RunningWebhooks } from '../../webhooks/src/main.ts';
import { startScopedWebhooks, stopScopedWebhooks } from '../support/webhooks.ts';
import { SecretCertManager } from '../../webhooks/src/certs/secret-manager.ts';
import { AdmissionLoad, createLoadFixtures } from '../support/admission-load.ts';
import { createNamespace, kubeConfig } from '../support/cluster.ts';

const scope = `r${randomBytes(3).toString('hex')}`;
let ns = '';
let rest: KubeRest;
let webhooks: RunningWebhooks;

beforeAll(async () => {
  rest = new KubeRest(kubeConfig());
  ns = await createNamespace('rot', { 'vmplane.io/webhook-scope': scope });
  await createLoadFixtures(rest, scope);
  webhooks = await startScopedWebhooks(scope, {
    certificates: {
      mode: 'self',
      checkIntervalMs: 200,
      policy: {
        caValidityDays: 365,
        caRenewBeforeDays: 400,
        servingValidityDays: 30,
        servingRenewBeforeDays: 1,
        propagationMs: 1500,
      },
    },
    logger: pino({ level: 'silent' }),
  });
}, 120_000);

afterAll(async () => {
  await stopScopedWebhooks(webhooks);
  rest.close();
});

function servedFingerprint(port: number): Promise<{ fingerprint: string; issuer: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate();
      resolve({
        fingerprint: c.fingerprint256,
        issuer: createHash('sha256')
          .update(JSON.stringify(c.issuer) + c.serialNumber)
          .digest('hex'),
      });
      s.end();
    });
    s.on('error', reject);
  });
}

describe('certificate rotation', () => {
  it('rotates CA and serving certificate under load with zero failed admissions', async () => {
    const manager = webhooks.certs as SecretCertManager;
    const cas = new Set<string>();
    const served = new Set<string>();
    const deadline = Date.now() + 14_000;

    const sampler = (async () => {
      while (Date.now() < deadline) {
        const ca = manager.stored?.ca.certPem;
        if (ca) cas.add(ca);
        served.add((await servedFingerprint(webhooks.port)).fingerprint);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const load = new AdmissionLoad(rest, ns, scope);
    load.start(4);
    await sampler;
    await load.stop();
    const { ok, failures } = load;

    console.log(
      `rotation under load: ${ok} admissions, ${cas.size} CAs, ${served.size} serving certificates, ${failures.length} failures`,
    );
    expect(failures.length, failures.slice(0, 5).join('\n')).toBe(0);
    expect(ok).toBeGreaterThan(100);
    // Several full CA rotations, each visible on the wire as a new serving certificate.
    expect(cas.size).toBeGreaterThanOrEqual(3);
    expect(served.size).toBeGreaterThanOrEqual(3);
  }, 60_000);
});
