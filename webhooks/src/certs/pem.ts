// PEM certificates as the webhook certificates need them: which CA issued one, its fingerprint,
// and the base64 in which Kubernetes carries PEM (Secret data, a webhook's caBundle). Pure.
import { X509Certificate } from 'node:crypto';

/** The SHA-256 fingerprint of a certificate (what the serving reports carry). */
export const fingerprintOf = (pem: string): string => new X509Certificate(pem).fingerprint256;

/** Whether the CA issued the certificate (false for no certificate at all). */
export function issuedBy(servingPem: string, caPem: string): boolean {
  if (!servingPem) return false;
  const ca = new X509Certificate(caPem);
  const cert = new X509Certificate(servingPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** PEM to and from the base64 of Kubernetes' Secret data and caBundle fields. */
export const b64 = (s: string): string => Buffer.from(s).toString('base64');
export const unb64 = (s: string | undefined): string =>
  s ? Buffer.from(s, 'base64').toString('utf8') : '';
