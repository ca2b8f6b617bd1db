// What each replica serves, as it says in the one Lease the replicas share: the SHA-256
// fingerprint of the CA that issued the certificate it serves, renewed now and then. A CA rotation
// retires the old CA only once no replica heard from still serves a certificate it issued. One
// Lease with a fixed name (made by the chart), not one per replica: the webhook Role can then name
// the only Lease the webhooks may update, and they need neither `create` (which RBAC cannot limit
// to a name) nor `list` or `delete` on Leases, so the controllers' leader Lease is out of their
// reach. Pure: the names and the reading and writing of the reports; the manager does the I/O.

/** What one replica serves. */
export interface ServingReport {
  identity: string;
  /** SHA-256 fingerprint of the CA that issued the certificate the replica serves. */
  caFingerprint: string;
  /** Until when the report holds (last renewal plus the report's duration). */
  expiresAt: number;
}

/** The Lease every replica's report is in (the chart makes it; the webhook Role names it). */
export const SERVING_LEASE = 'vmplane-webhook-serving';
/** On that Lease: the reports, JSON `{ "<identity>": { "ca": "<fingerprint>", "expiresAt": ms } }`. */
export const SERVING_REPORTS_ANNOTATION = 'vmplane.io/serving-reports';

export interface Lease {
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
  };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
}

type Stored = Record<string, { ca?: unknown; expiresAt?: unknown }>;

function stored(value: string | undefined): Stored {
  if (!value) return {};
  try {
    const v = JSON.parse(value) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Stored) : {};
  } catch {
    // An unreadable annotation (hand-edited) holds no reports; the next write replaces it.
    return {};
  }
}

/** The reports on the Lease (none when it is missing or unreadable). */
export function reportsIn(annotations: Record<string, string> | undefined): ServingReport[] {
  return Object.entries(stored(annotations?.[SERVING_REPORTS_ANNOTATION])).flatMap(
    ([identity, r]) =>
      typeof r.ca === 'string' && typeof r.expiresAt === 'number'
        ? [{ identity, caFingerprint: r.ca, expiresAt: r.expiresAt }]
        : [],
  );
}

/**
 * The annotation with `report` written in, and the reports expired more than `forgetAfterMs`
 * ago (replicas that went away) left out.
 */
export function withReport(
  annotations: Record<string, string> | undefined,
  report: ServingReport,
  now: number,
  forgetAfterMs: number,
): string {
  const kept = reportsIn(annotations).filter(
    (r) => r.identity !== report.identity && r.expiresAt + forgetAfterMs > now,
  );
  const out: Record<string, { ca: string; expiresAt: number }> = {};
  for (const r of [...kept, report].sort((a, b) => a.identity.localeCompare(b.identity)))
    out[r.identity] = { ca: r.caFingerprint, expiresAt: r.expiresAt };
  return JSON.stringify(out);
}
