// Who may send admission reviews. With a client CA configured, the server asks every TLS client
// for a certificate but lets the handshake finish without one (kubelet's probes of /healthz and
// /readyz and Prometheus' scrapes of /metrics carry none); the admission paths then answer only
// a caller whose certificate that CA verified and, if names are configured, whose common name is
// one of them: kube-apiserver, as its admission configuration (AdmissionConfiguration ->
// WebhookAdmissionConfiguration kubeConfigFile) has it present one. Without a client CA every
// caller is accepted (clientAuth mode "none": managed control planes, whose API server cannot be
// given a client certificate, where the NetworkPolicy limits who reaches the port). Pure.
import { X509Certificate } from 'node:crypto';

export interface ClientAuth {
  /** PEM of the CA (or CAs) that issue the API server's webhook client certificate. */
  caPem: string;
  /** Common names accepted; empty or absent accepts any certificate the CA issued. */
  allowedNames?: string[];
}

/** What the TLS layer says about the caller. */
export interface Peer {
  /** Whether the caller presented a certificate at all. */
  presented: boolean;
  /** Whether it verified against the client CA. */
  authorized: boolean;
  /** Why not (OpenSSL's reason), when presented but not authorized. */
  authorizationError?: string;
  commonName?: string;
}

/** The CAs' common names, for messages ("signed by <name>"). */
export function caNames(caPem: string): string {
  const pems = caPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const names = pems.map((p) => {
    const subject = new X509Certificate(p).subject;
    return /(?:^|\n)CN=([^\n]+)/.exec(subject)?.[1] ?? subject.replace(/\n/g, ', ');
  });
  if (!names.length) throw new Error('client CA: no PEM certificate found');
  return names.map((n) => `"${n}"`).join(' or ');
}

const ONLY = 'admission reviews are accepted only from the API server';

/** Why this caller may not send admission reviews; undefined when it may. */
export function callerProblem(
  peer: Peer,
  auth: { caName: string; allowedNames?: string[] | undefined },
): string | undefined {
  if (!peer.presented) return `${ONLY}: no client certificate signed by ${auth.caName}`;
  if (!peer.authorized)
    return `${ONLY}: no client certificate signed by ${auth.caName} (the one presented: ${peer.authorizationError ?? 'not verified'})`;
  const allowed = auth.allowedNames ?? [];
  if (allowed.length && !allowed.includes(peer.commonName ?? ''))
    return `${ONLY}: the client certificate's common name "${peer.commonName ?? ''}" is not one of ${allowed.map((n) => `"${n}"`).join(', ')}`;
  return undefined;
}

/** Admission paths are everything but the probes and the metrics. */
export function isAdmissionPath(method: string, path: string): boolean {
  return !(method === 'GET' && ['/healthz', '/readyz', '/metrics'].includes(path));
}

/** Client authentication settings from flags (--client-ca-file, --client-allowed-names) or env. */
export function clientAuthSettings(
  argv: string[],
  env: NodeJS.ProcessEnv,
): { caFile: string; allowedNames: string[] } | undefined {
  const flag = (name: string): string | undefined => {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i] ?? '';
      if (a === `--${name}`) return argv[i + 1];
      if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
    }
    return undefined;
  };
  const caFile = flag('client-ca-file') ?? env.VMPLANE_CLIENT_CA_FILE;
  if (!caFile) return undefined;
  const names = flag('client-allowed-names') ?? env.VMPLANE_CLIENT_ALLOWED_NAMES ?? '';
  return {
    caFile,
    allowedNames: names
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
  };
}
