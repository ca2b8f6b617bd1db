import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  applyAction,
  caBundle,
  issuerFingerprint,
  planCertificates,
  replicasBehind,
} from './plan.ts';
import { fingerprintOf } from './pem.ts';
import type { ServingReport } from './serving-reports.ts';
import { testCertPolicy as policy } from '../../../test/support/certs.ts';

const DAY = 86_400_000;
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

  it('keeps the old CA while a replica heard from still serves a certificate it issued', () => {
    let now = t0 + (policy.caValidityDays - policy.caRenewBeforeDays + 1) * DAY;
    const introduced = applyAction('introduce-ca', created, now, policy)!;
    now += policy.propagationMs;
    const switched = applyAction('switch-serving', introduced, now, policy)!;
    now += policy.propagationMs;
    const report = (identity: string, pem: string, expiresAt: number): ServingReport => ({
      identity,
      caFingerprint: fingerprintOf(pem),
      expiresAt,
    });
    const fresh = now + policy.reportDurationMs;
    const a = report('a', switched.ca.certPem, fresh);
    const bOld = report('b', created!.ca.certPem, fresh);
    expect(replicasBehind(switched, [a, bOld], now)).toEqual(['b']);
    expect(planCertificates(switched, now, policy, [a, bOld])).toBe('none');
    // b reloads and says so: the old CA may go.
    const bNew = report('b', switched.ca.certPem, fresh);
    expect(planCertificates(switched, now, policy, [a, bNew])).toBe('retire-old-ca');
    // b is not heard from for a whole lease: it counts as gone.
    const bGone = report('b', created!.ca.certPem, now - 1);
    expect(planCertificates(switched, now, policy, [a, bGone])).toBe('retire-old-ca');
  });

  it('reports the CA that issued what is served, whichever of the state it is', () => {
    const introduced = applyAction('introduce-ca', created, t0, policy)!;
    const switched = applyAction('switch-serving', introduced, t0, policy)!;
    expect(issuerFingerprint(switched)).toBe(fingerprintOf(switched.ca.certPem));
    // CA Secret already switched, TLS Secret not yet: the old CA issued what is served.
    expect(issuerFingerprint({ ...switched, serving: created!.serving })).toBe(
      fingerprintOf(created!.ca.certPem),
    );
    const stranger = applyAction('create', undefined, t0, policy)!;
    expect(issuerFingerprint({ ...switched, serving: stranger.serving })).toBe('unknown');
  });

  it('re-issues a serving certificate that the current CA did not issue (a write cut short)', () => {
    const other = applyAction('create', undefined, t0, policy)!;
    const mixed = { ...created!, serving: other.serving };
    expect(planCertificates(mixed, t0, policy)).toBe('renew-serving');
    expect(
      planCertificates({ ...created!, serving: { certPem: '', keyPem: '' } }, t0, policy),
    ).toBe('renew-serving');
  });

  it('counts every change to the CAs', () => {
    const introduced = applyAction('introduce-ca', created, t0, policy)!;
    const switched = applyAction('switch-serving', introduced, t0, policy)!;
    const retired = applyAction('retire-old-ca', switched, t0, policy)!;
    const renewed = applyAction('renew-serving', retired, t0, policy)!;
    expect([created, introduced, switched, retired, renewed].map((x) => x?.serial)).toEqual([
      1, 2, 3, 4, 4,
    ]);
  });
});
