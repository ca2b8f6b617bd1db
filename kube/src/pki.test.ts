import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { certificateExpiry, createCertificateAuthority, issueCertificate } from './pki.ts';

describe('pki', () => {
  const ca = createCertificateAuthority('vmplane-test-ca', 365);

  it('makes a CA that signs itself', () => {
    const x = new X509Certificate(ca.certPem);
    expect(x.ca).toBe(true);
    expect(x.subject).toBe('CN=vmplane-test-ca');
    expect(x.verify(x.publicKey)).toBe(true);
  });

  it('issues a serving certificate with DNS and IP names, signed by the CA', () => {
    const leaf = issueCertificate(ca, {
      commonName: 'vmplane-webhooks.vmplane.svc',
      dnsNames: ['vmplane-webhooks.vmplane.svc', 'localhost'],
      ipAddresses: ['127.0.0.1'],
      usages: ['server'],
      validityDays: 30,
    });
    const x = new X509Certificate(leaf.certPem);
    expect(x.ca).toBe(false);
    expect(x.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(x.checkHost('vmplane-webhooks.vmplane.svc')).toBe('vmplane-webhooks.vmplane.svc');
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x.checkHost('evil.example.com')).toBeUndefined();
    expect(x.keyUsage).toContain('1.3.6.1.5.5.7.3.1'); // serverAuth
  });

  it('puts organisations in the subject of a client certificate', () => {
    const leaf = issueCertificate(ca, {
      commonName: 'admin',
      organization: ['system:masters'],
      usages: ['client'],
      validityDays: 1,
    });
    const x = new X509Certificate(leaf.certPem);
    expect(x.subject).toContain('O=system:masters');
    expect(x.keyUsage).toContain('1.3.6.1.5.5.7.3.2'); // clientAuth
  });

  it('reports expiry from the validity it was given', () => {
    const start = new Date('2026-01-01T00:00:00Z');
    const leaf = issueCertificate(ca, {
      commonName: 'x',
      usages: ['server'],
      validityDays: 10,
      notBefore: start,
    });
    expect(certificateExpiry(leaf.certPem).toISOString()).toBe('2026-01-11T00:00:00.000Z');
  });

  it('refuses an IP address that is not one', () => {
    expect(() =>
      issueCertificate(ca, {
        commonName: 'x',
        ipAddresses: ['300.1.1.1'],
        usages: ['server'],
        validityDays: 1,
      }),
    ).toThrow('ipAddresses: "300.1.1.1" is not an IP address');
  });
});
