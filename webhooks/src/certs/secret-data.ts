// The two Secrets of the self-managed certificates: the CA (with its key, and a CA being
// introduced or retired) in a Secret of its own, the serving pair in the TLS Secret every replica
// loads, so every replica serves the same pair and nothing that reads the serving Secret gets the
// CA key. Pure: the data of each Secret from the stored state, and the state back from both.
import { caBundle, type StoredCerts } from './plan.ts';
import { b64, unb64 } from './pem.ts';

/** The CA Secret: the CA and its key, a CA being introduced or retired, and the bundle. */
export function toCaSecretData(s: StoredCerts): Record<string, string> {
  const d: Record<string, string> = {
    'ca.crt': b64(s.ca.certPem),
    'ca.key': b64(s.ca.keyPem),
    'ca-bundle.crt': b64(caBundle(s)),
  };
  if (s.nextCa) {
    d['next-ca.crt'] = b64(s.nextCa.certPem);
    d['next-ca.key'] = b64(s.nextCa.keyPem);
    d['next-ca.since'] = b64(s.nextCaSince ?? '');
  }
  if (s.oldCaPem) {
    d['old-ca.crt'] = b64(s.oldCaPem);
    d['old-ca.since'] = b64(s.oldCaSince ?? '');
  }
  if (s.serial) d.serial = b64(String(s.serial));
  return d;
}

/** The TLS Secret the replicas serve from: the serving pair and the CA certificate, no key. */
export function toTlsSecretData(s: StoredCerts): Record<string, string> {
  return {
    'tls.crt': b64(s.serving.certPem),
    'tls.key': b64(s.serving.keyPem),
    'ca.crt': b64(s.ca.certPem),
  };
}

/**
 * The stored state from both Secrets. A TLS Secret that still holds the CA key (the layout before
 * the CA had a Secret of its own) is read as the CA too; the next write moves the key out.
 */
export function fromSecretData(
  caData: Record<string, string> | undefined,
  tlsData: Record<string, string> | undefined,
): StoredCerts | undefined {
  const d = caData?.['ca.crt'] ? caData : tlsData?.['ca.key'] ? tlsData : undefined;
  if (!d?.['ca.crt']) return undefined;
  const s: StoredCerts = {
    ca: { certPem: unb64(d['ca.crt']), keyPem: unb64(d['ca.key']) },
    serving: { certPem: unb64(tlsData?.['tls.crt']), keyPem: unb64(tlsData?.['tls.key']) },
  };
  if (d['next-ca.crt']) {
    s.nextCa = { certPem: unb64(d['next-ca.crt']), keyPem: unb64(d['next-ca.key']) };
    s.nextCaSince = unb64(d['next-ca.since']);
  }
  if (d['old-ca.crt']) {
    s.oldCaPem = unb64(d['old-ca.crt']);
    s.oldCaSince = unb64(d['old-ca.since']);
  }
  const serial = Number(unb64(d.serial));
  if (Number.isSafeInteger(serial) && serial > 0) s.serial = serial;
  return s;
}
