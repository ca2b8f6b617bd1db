import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  applyAction,
  caBundle,
  DEFAULT_POLICY,
  FileCertSource,
  fromSecretData,
  planCertificates,
  toSecretData,
  type CertPolicy,
} from './certs.ts';
import { createCertificateAuthority, issueCertificate } from '../../kube/src/pki.ts';

const DAY = 86_400_000;
const policy: CertPolicy = {
  ...DEFAULT_POLICY,
  dnsNames: ['vmplane-webhooks.vmplane.svc'],
  ipAddresses: [],
  propagationMs: 60_000,
};
const t0 = Date.now();

describe('certificate plan', () => {
  const created = applyAction('create', undefined, t0, policy);

  it('creates a CA and a serving certificate for the service names when there is nothing', () => {
    expect(planCertificates(undefined, t0, policy)).toBe('create');
    const serving = new X509Certificate(created?.serving.certPem ?? '');
    expect(serving.checkHost('vmplane-webhooks.vmplane.svc')).toBe('vmplane-webhooks.vmplane.svc');
    expect(serving.verify(new X509Certificate(created?.ca.certPem ?? '').publicKey)).toBe(true);
    expect(planCertificates(created, t0, policy)).toBe('none');
  });

  it('renews the serving certificate before it expires, with the same CA', () => {
    const later = t0 + (policy.servingValidityDays - policy.servingRenewBeforeDays + 1) * DAY;
    expect(planCertificates(created, later, policy)).toBe('renew-serving');
    const renewed = applyAction('renew-serving', created, later, policy);
    expect(renewed?.ca).toEqual(created?.ca);
    expect(renewed?.serving.certPem).not.toBe(created?.serving.certPem);
  });

  it('renews when the service names change', () => {
    expect(planCertificates(created, t0, { ...policy, dnsNames: ['other.svc'] })).toBe(
      'renew-serving',
    );
  });

  it('rotates the CA in three steps, never serving a certificate whose CA is not yet trusted', () => {
    let now = t0 + (policy.caValidityDays - policy.caRenewBeforeDays + 1) * DAY;
    expect(planCertificates(created, now, policy)).toBe('introduce-ca');
    const introduced = applyAction('introduce-ca', created, now, policy);
    // Step 1: both CAs trusted, still serving from the old one.
    expect(caBundle(introduced!)).toContain(created!.ca.certPem.trim());
    expect(caBundle(introduced!)).toContain(introduced!.nextCa!.certPem.trim());
    expect(introduced!.serving).toEqual(created!.serving);
    expect(planCertificates(introduced, now + 1000, policy)).not.toBe('switch-serving'); // not before propagation

    now += policy.propagationMs;
    expect(planCertificates(introduced, now, policy)).toBe('switch-serving');
    const switched = applyAction('switch-serving', introduced, now, policy)!;
    // Step 2: serving from the new CA, old CA still trusted for replicas not yet reloaded.
    expect(
      new X509Certificate(switched.serving.certPem).verify(
        new X509Certificate(introduced!.nextCa!.certPem).publicKey,
      ),
    ).toBe(true);
    expect(caBundle(switched)).toContain(created!.ca.certPem.trim());

    now += policy.propagationMs;
    expect(planCertificates(switched, now, policy)).toBe('retire-old-ca');
    const retired = applyAction('retire-old-ca', switched, now, policy)!;
    // Step 3: only the new CA.
    expect(caBundle(retired)).not.toContain(created!.ca.certPem.trim());
    expect(planCertificates(retired, now, policy)).toBe('none');
  });

  it('round-trips through the Secret', () => {
    const introduced = applyAction('introduce-ca', created, t0, policy);
    expect(fromSecretData(toSecretData(introduced!))).toEqual(introduced);
    expect(fromSecretData({})).toBeUndefined();
  });
});

describe('certificates from files (cert-manager)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmplane-certs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads them and reloads when they change', async () => {
    const ca = createCertificateAuthority('cm', 1);
    const a = issueCertificate(ca, { commonName: 'a', usages: ['server'], validityDays: 1 });
    const b = issueCertificate(ca, { commonName: 'b', usages: ['server'], validityDays: 1 });
    writeFileSync(join(dir, 'tls.crt'), a.certPem);
    writeFileSync(join(dir, 'tls.key'), a.keyPem);
    const src = new FileCertSource(dir, 20);
    const changes: string[] = [];
    await src.start((c) => changes.push(c.certPem));
    expect(src.current().certPem).toBe(a.certPem);
    await new Promise((r) => setTimeout(r, 30));
    writeFileSync(join(dir, 'tls.crt'), b.certPem);
    writeFileSync(join(dir, 'tls.key'), b.keyPem);
    const deadline = Date.now() + 2000;
    while (!changes.includes(b.certPem) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    src.stop();
    expect(changes).toContain(b.certPem);
    expect(src.current().certPem).toBe(b.certPem);
  });
});
