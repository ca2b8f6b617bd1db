// What each replica serves, as it says in a Lease of its own: the SHA-256 fingerprint of the CA
// that issued the certificate it serves, renewed now and then. A CA rotation retires the old CA
// only once no replica heard from still serves a certificate it issued. Pure: the names, labels
// and reading of the Leases; the manager writes and lists them.

/** What one replica serves, from its Lease. */
export interface ServingReport {
  identity: string;
  /** SHA-256 fingerprint of the CA that issued the certificate the replica serves. */
  caFingerprint: string;
  /** Until when the report holds (last renewal plus the lease duration). */
  expiresAt: number;
}

/** The label on the replicas' serving reports (Leases). */
export const SERVING_REPORT_LABEL = 'vmplane.io/webhook-serving';
/** On a serving report: the SHA-256 fingerprint of the CA that issued what the replica serves. */
export const SERVING_CA_ANNOTATION = 'vmplane.io/serving-ca';

export interface Lease {
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
}

/** A name for this replica's report: the identity, as a DNS subdomain. */
export function reportName(identity: string): string {
  const clean = identity
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `vmplane-webhook-serving-${clean || 'replica'}`.slice(0, 253);
}

export function reportOf(l: Lease): ServingReport | undefined {
  const renewed = Date.parse(l.spec?.renewTime ?? '');
  const fp = l.metadata.annotations?.[SERVING_CA_ANNOTATION];
  if (!fp || !Number.isFinite(renewed)) return undefined;
  return {
    identity: l.spec?.holderIdentity ?? l.metadata.name,
    caFingerprint: fp,
    expiresAt: renewed + (l.spec?.leaseDurationSeconds ?? 0) * 1000,
  };
}
