// The caBundle of the webhook configurations, as the certificate manager keeps it current: which
// CA state a configuration's bundle came from (its serial, in an annotation), whether to replace
// the bundle (never with an older state's), and whether a bundle trusts a certificate. Pure: the
// manager reads and patches the configurations.
import { issuedBy, unb64 } from './pem.ts';

/** Whether a base64 caBundle holds the CA that issued the certificate. */
export function bundleTrusts(bundleB64: string | undefined, certPem: string): boolean {
  const pems =
    unb64(bundleB64).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return pems.some((ca) => issuedBy(certPem, ca));
}

/** On the webhook configurations: the serial of the CA state their caBundle comes from. */
export const CA_SERIAL_ANNOTATION = 'vmplane.io/ca-serial';

/** What the manager reads of a webhook configuration. */
export interface WebhookConfigurationLike {
  metadata: { resourceVersion?: string; annotations?: Record<string, string> };
  webhooks?: { name: string; clientConfig?: { caBundle?: string } }[];
}

/** The serial a configuration's caBundle was injected from; undefined when none was recorded. */
export function caSerialOf(cfg: WebhookConfigurationLike): number | undefined {
  const v = Number(cfg.metadata.annotations?.[CA_SERIAL_ANNOTATION]);
  return Number.isSafeInteger(v) ? v : undefined;
}

/**
 * Whether a configuration's caBundle should be replaced with the one of a state with this serial:
 * never by an older state (a replica that read the Secrets before another one changed them).
 */
export function shouldInject(
  ours: number,
  theirs: number | undefined,
  bundlesMatch: boolean,
): boolean {
  if (theirs !== undefined && ours < theirs) return false;
  return !bundlesMatch || theirs !== ours;
}
