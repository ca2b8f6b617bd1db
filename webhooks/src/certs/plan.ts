// The rotation of the webhooks' self-managed certificates, one step at a time. Rotation never
// breaks admission:
//   1. a new CA is added next to the current one in the webhook configurations' caBundle,
//   2. once the API server has had time to pick that up, the serving certificate is re-issued by
//      the new CA (the old CA stays trusted, for replicas that have not reloaded yet),
//   3. the old CA is dropped from the bundle only when every replica serves a certificate of the
//      new CA: each replica says which CA issued what it serves in a Lease of its own, renewed
//      now and then; a replica not heard from for a lease duration counts as gone (and its
//      /readyz fails before then, so it leaves the Service first).
// A serving certificate near expiry is simply re-issued by the current CA. The plan is a pure
// function of the stored state, the replicas' reports and the clock, and carrying out a step is
// pure apart from key generation; the manager (secret-manager.ts) only reads, writes and injects.
import { X509Certificate } from 'node:crypto';
import {
  createCertificateAuthority,
  issueCertificate,
  type KeyPair,
} from '../../../kube/src/pki.ts';
import { fingerprintOf, issuedBy } from './pem.ts';
import type { ServingReport } from './serving-reports.ts';

export interface StoredCerts {
  ca: KeyPair;
  serving: KeyPair;
  /** A CA introduced into the bundle, waiting to sign the serving certificate. */
  nextCa?: KeyPair;
  nextCaSince?: string;
  /** A CA no longer signing, still trusted until every replica has reloaded. */
  oldCaPem?: string;
  oldCaSince?: string;
  /**
   * Counts changes to the CAs (and so to the bundle). The bundle injected into the webhook
   * configurations carries it, so a replica acting on an older state never overwrites a newer
   * bundle.
   */
  serial?: number;
}

export interface CertPolicy {
  dnsNames: string[];
  ipAddresses: string[];
  caValidityDays: number;
  servingValidityDays: number;
  /** Re-issue the serving certificate when it has less than this left. */
  servingRenewBeforeDays: number;
  /** Start a CA rotation when the CA has less than this left. */
  caRenewBeforeDays: number;
  /** How long a caBundle change is given to reach the API server (and replicas) before relying on it. */
  propagationMs: number;
  /**
   * How long a replica's report of what it serves holds. Renewed every third of it; a replica not
   * heard from for this long counts as gone.
   */
  reportDurationMs: number;
}

export const DEFAULT_POLICY: Omit<CertPolicy, 'dnsNames' | 'ipAddresses'> = {
  caValidityDays: 365,
  servingValidityDays: 90,
  servingRenewBeforeDays: 30,
  caRenewBeforeDays: 60,
  propagationMs: 2 * 60_000,
  reportDurationMs: 15 * 60_000,
};

export type CertAction =
  'create' | 'introduce-ca' | 'switch-serving' | 'retire-old-ca' | 'renew-serving' | 'none';

const DAY = 86_400_000;
const expiry = (pem: string): number => new Date(new X509Certificate(pem).validTo).getTime();

function servingCovers(pem: string, p: CertPolicy): boolean {
  const x = new X509Certificate(pem);
  return (
    p.dnsNames.every((n) => x.checkHost(n, { subject: 'never' }) === n) &&
    p.ipAddresses.every((ip) => x.checkIP(ip) === ip)
  );
}

/**
 * The fingerprint of the CA that issued the serving certificate, among the CAs of the state;
 * 'unknown' when none did (which keeps any old CA in the bundle).
 */
export function issuerFingerprint(s: StoredCerts): string {
  const cas = [s.ca.certPem, s.nextCa?.certPem, s.oldCaPem].filter((x): x is string => !!x);
  const issuer = cas.find((ca) => issuedBy(s.serving.certPem, ca));
  return issuer ? fingerprintOf(issuer) : 'unknown';
}

/**
 * The replicas that still serve a certificate of another CA than the current one, among those
 * heard from within their lease. Empty: the old CA may go.
 */
export function replicasBehind(s: StoredCerts, reports: ServingReport[], now: number): string[] {
  const current = fingerprintOf(s.ca.certPem);
  return reports
    .filter((r) => r.expiresAt > now && r.caFingerprint !== current)
    .map((r) => r.identity);
}

/** What to do next. Called periodically; each step is one write. */
export function planCertificates(
  s: StoredCerts | undefined,
  now: number,
  p: CertPolicy,
  reports: ServingReport[] = [],
): CertAction {
  if (!s) return 'create';
  if (!issuedBy(s.serving.certPem, s.ca.certPem)) return 'renew-serving';
  if (s.nextCa && now - Date.parse(s.nextCaSince ?? '') >= p.propagationMs) return 'switch-serving';
  if (
    s.oldCaPem &&
    now - Date.parse(s.oldCaSince ?? '') >= p.propagationMs &&
    replicasBehind(s, reports, now).length === 0
  )
    return 'retire-old-ca';
  if (!s.nextCa && !s.oldCaPem && expiry(s.ca.certPem) - now < p.caRenewBeforeDays * DAY)
    return 'introduce-ca';
  if (
    expiry(s.serving.certPem) - now < p.servingRenewBeforeDays * DAY ||
    !servingCovers(s.serving.certPem, p)
  )
    return 'renew-serving';
  return 'none';
}

function serving(ca: KeyPair, p: CertPolicy, now: number): KeyPair {
  return issueCertificate(ca, {
    commonName: p.dnsNames[0] ?? p.ipAddresses[0] ?? 'vmplane-webhooks',
    dnsNames: p.dnsNames,
    ipAddresses: p.ipAddresses,
    usages: ['server'],
    validityDays: p.servingValidityDays,
    notBefore: new Date(now - 60_000),
  });
}

/** Carries out one action; pure apart from key generation. */
export function applyAction(
  action: CertAction,
  s: StoredCerts | undefined,
  now: number,
  p: CertPolicy,
): StoredCerts | undefined {
  const ts = new Date(now).toISOString();
  const newCa = (): KeyPair =>
    createCertificateAuthority('vmplane-webhook-ca', p.caValidityDays, new Date(now - 60_000));
  const serial = (s?.serial ?? 0) + 1;
  switch (action) {
    case 'create': {
      const ca = newCa();
      return { ca, serving: serving(ca, p, now), serial };
    }
    case 'introduce-ca':
      return s && { ...s, nextCa: newCa(), nextCaSince: ts, serial };
    case 'switch-serving':
      if (!s?.nextCa) return s;
      return {
        ca: s.nextCa,
        serving: serving(s.nextCa, p, now),
        oldCaPem: s.ca.certPem,
        oldCaSince: ts,
        serial,
      };
    case 'retire-old-ca':
      return s && { ca: s.ca, serving: s.serving, serial };
    case 'renew-serving':
      return s && { ...s, serving: serving(s.ca, p, now) };
    default:
      return s;
  }
}

/** Every CA clients should trust right now. */
export function caBundle(s: StoredCerts): string {
  return [s.ca.certPem, s.nextCa?.certPem, s.oldCaPem]
    .filter((x): x is string => !!x)
    .map((x) => x.trim())
    .join('\n')
    .concat('\n');
}
