// Certificates that manage themselves. The CA and serving certificate live in one Secret, so every
// replica serves the same pair. Rotation never breaks admission:
//   1. a new CA is added next to the current one in the webhook configurations' caBundle,
//   2. once the API server has had time to pick that up, the serving certificate is re-issued by
//      the new CA (the old CA stays trusted, for replicas that have not reloaded yet),
//   3. later still, the old CA is dropped from the bundle.
// A serving certificate near expiry is simply re-issued by the current CA. The plan is a pure
// function of the stored state and the clock; the manager only reads, writes and injects.
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiError, KubeRest, isNotFound } from '../../kube/src/rest.ts';
import { createCertificateAuthority, issueCertificate, type KeyPair } from '../../kube/src/pki.ts';

export interface StoredCerts {
  ca: KeyPair;
  serving: KeyPair;
  /** A CA introduced into the bundle, waiting to sign the serving certificate. */
  nextCa?: KeyPair;
  nextCaSince?: string;
  /** A CA no longer signing, still trusted until every replica has reloaded. */
  oldCaPem?: string;
  oldCaSince?: string;
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
}

export const DEFAULT_POLICY: Omit<CertPolicy, 'dnsNames' | 'ipAddresses'> = {
  caValidityDays: 365,
  servingValidityDays: 90,
  servingRenewBeforeDays: 30,
  caRenewBeforeDays: 60,
  propagationMs: 2 * 60_000,
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

/** What to do next. Called periodically; each step is one write. */
export function planCertificates(
  s: StoredCerts | undefined,
  now: number,
  p: CertPolicy,
): CertAction {
  if (!s) return 'create';
  if (s.nextCa && now - Date.parse(s.nextCaSince ?? '') >= p.propagationMs) return 'switch-serving';
  if (s.oldCaPem && now - Date.parse(s.oldCaSince ?? '') >= p.propagationMs) return 'retire-old-ca';
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
  switch (action) {
    case 'create': {
      const ca = newCa();
      return { ca, serving: serving(ca, p, now) };
    }
    case 'introduce-ca':
      return s && { ...s, nextCa: newCa(), nextCaSince: ts };
    case 'switch-serving':
      if (!s?.nextCa) return s;
      return {
        ca: s.nextCa,
        serving: serving(s.nextCa, p, now),
        oldCaPem: s.ca.certPem,
        oldCaSince: ts,
      };
    case 'retire-old-ca':
      return s && { ca: s.ca, serving: s.serving };
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

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined): string =>
  s ? Buffer.from(s, 'base64').toString('utf8') : '';

export function toSecretData(s: StoredCerts): Record<string, string> {
  const d: Record<string, string> = {
    'ca.crt': b64(s.ca.certPem),
    'ca.key': b64(s.ca.keyPem),
    'tls.crt': b64(s.serving.certPem),
    'tls.key': b64(s.serving.keyPem),
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
  return d;
}

export function fromSecretData(d: Record<string, string> | undefined): StoredCerts | undefined {
  if (!d?.['ca.crt'] || !d['tls.crt']) return undefined;
  const s: StoredCerts = {
    ca: { certPem: unb64(d['ca.crt']), keyPem: unb64(d['ca.key']) },
    serving: { certPem: unb64(d['tls.crt']), keyPem: unb64(d['tls.key']) },
  };
  if (d['next-ca.crt']) {
    s.nextCa = { certPem: unb64(d['next-ca.crt']), keyPem: unb64(d['next-ca.key']) };
    s.nextCaSince = unb64(d['next-ca.since']);
  }
  if (d['old-ca.crt']) {
    s.oldCaPem = unb64(d['old-ca.crt']);
    s.oldCaSince = unb64(d['old-ca.since']);
  }
  return s;
}

export interface CertSource {
  /** The serving pair now. */
  current(): { certPem: string; keyPem: string };
  start(onChange: (c: { certPem: string; keyPem: string }) => void): Promise<void>;
  stop(): void;
}

export interface SecretCertOptions {
  kc: KubeConfig;
  namespace: string;
  secretName: string;
  policy: CertPolicy;
  /** Webhook configurations whose caBundle this manager keeps current. */
  webhookConfigurations: {
    kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration';
    name: string;
  }[];
  checkIntervalMs?: number;
  now?: () => number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** Self-managed certificates kept in a Secret (the default). */
export class SecretCertManager implements CertSource {
  private readonly o: SecretCertOptions;
  private readonly rest: KubeRest;
  private state?: StoredCerts;
  private timer?: NodeJS.Timeout;
  private onChange?: (c: { certPem: string; keyPem: string }) => void;
  private busy = false;

  constructor(o: SecretCertOptions) {
    this.o = o;
    this.rest = new KubeRest(o.kc);
  }

  current(): { certPem: string; keyPem: string } {
    if (!this.state) throw new Error('certificates not loaded yet');
    return this.state.serving;
  }

  get stored(): StoredCerts | undefined {
    return this.state;
  }

  bundle(): string {
    if (!this.state) throw new Error('certificates not loaded yet');
    return caBundle(this.state);
  }

  private get secretPath(): string {
    return `/api/v1/namespaces/${this.o.namespace}/secrets/${this.o.secretName}`;
  }

  private async read(): Promise<{ certs?: StoredCerts; resourceVersion?: string }> {
    try {
      const { body } = await this.rest.request<{
        data?: Record<string, string>;
        metadata: { resourceVersion: string };
      }>('GET', this.secretPath);
      return { certs: fromSecretData(body.data), resourceVersion: body.metadata.resourceVersion };
    } catch (e) {
      if (isNotFound(e)) return {};
      throw e;
    }
  }

  private async write(certs: StoredCerts, resourceVersion: string | undefined): Promise<boolean> {
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name: this.o.secretName,
        namespace: this.o.namespace,
        labels: { 'app.kubernetes.io/part-of': 'vmplane' },
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      data: toSecretData(certs),
    };
    try {
      if (resourceVersion) await this.rest.request('PUT', this.secretPath, { body });
      else
        await this.rest.request('POST', `/api/v1/namespaces/${this.o.namespace}/secrets`, { body });
      return true;
    } catch (e) {
      // Another replica wrote first: take its state on the next pass.
      if (e instanceof ApiError && (e.code === 409 || e.code === 422)) return false;
      throw e;
    }
  }

  /** One pass: read, plan, write at most one step, inject, reload. Returns the action taken. */
  async reconcile(): Promise<CertAction> {
    if (this.busy) return 'none';
    this.busy = true;
    try {
      const now = (this.o.now ?? Date.now)();
      const first = await this.read();
      const resourceVersion = first.resourceVersion;
      let certs = first.certs;
      const action = planCertificates(certs, now, this.o.policy);
      if (action !== 'none') {
        const next = applyAction(action, certs, now, this.o.policy);
        if (next && (await this.write(next, resourceVersion))) {
          this.o.log?.('certificates: ' + action, {
            secret: `${this.o.namespace}/${this.o.secretName}`,
          });
          certs = next;
        } else {
          ({ certs } = await this.read());
        }
      }
      if (!certs) throw new Error('certificate Secret could not be read or created');
      const servingChanged = this.state?.serving.certPem !== certs.serving.certPem;
      this.state = certs;
      await this.inject(caBundle(certs));
      if (servingChanged) this.onChange?.(certs.serving);
      return action;
    } finally {
      this.busy = false;
    }
  }

  /** Keeps every listed webhook configuration's caBundle equal to the bundle. */
  async inject(bundlePem: string): Promise<void> {
    const want = b64(bundlePem);
    for (const c of this.o.webhookConfigurations) {
      const path = `/apis/admissionregistration.k8s.io/v1/${c.kind === 'MutatingWebhookConfiguration' ? 'mutatingwebhookconfigurations' : 'validatingwebhookconfigurations'}/${c.name}`;
      let cfg: { webhooks?: { name: string; clientConfig?: { caBundle?: string } }[] };
      try {
        cfg = (await this.rest.request<typeof cfg>('GET', path)).body;
      } catch (e) {
        if (isNotFound(e)) continue; // not registered (yet)
        throw e;
      }
      const ops = (cfg.webhooks ?? []).flatMap((w, i) =>
        w.clientConfig?.caBundle === want
          ? []
          : [
              { op: 'test', path: `/webhooks/${i}/name`, value: w.name },
              { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: want },
            ],
      );
      if (ops.length)
        await this.rest.request('PATCH', path, {
          body: ops,
          contentType: 'application/json-patch+json',
        });
    }
  }

  async start(onChange: (c: { certPem: string; keyPem: string }) => void): Promise<void> {
    this.onChange = onChange;
    await this.reconcile();
    this.timer = setInterval(() => {
      this.reconcile().catch((e: unknown) =>
        this.o.log?.('certificates: reconcile failed', { error: (e as Error).message }),
      );
    }, this.o.checkIntervalMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.rest.close();
  }
}

/**
 * Certificates issued by someone else (cert-manager), mounted as files. No self-management: the
 * files are re-read when they change, and cert-manager's CA injector keeps caBundle current.
 */
export class FileCertSource implements CertSource {
  private readonly dir: string;
  private readonly intervalMs: number;
  private timer?: NodeJS.Timeout;
  private mtime = 0;
  private pair?: { certPem: string; keyPem: string };

  constructor(dir: string, intervalMs = 5000) {
    this.dir = dir;
    this.intervalMs = intervalMs;
  }

  private load(): boolean {
    const m = Math.max(
      statSync(join(this.dir, 'tls.crt')).mtimeMs,
      statSync(join(this.dir, 'tls.key')).mtimeMs,
    );
    if (m === this.mtime && this.pair) return false;
    this.pair = {
      certPem: readFileSync(join(this.dir, 'tls.crt'), 'utf8'),
      keyPem: readFileSync(join(this.dir, 'tls.key'), 'utf8'),
    };
    this.mtime = m;
    return true;
  }

  current(): { certPem: string; keyPem: string } {
    if (!this.pair) this.load();
    return this.pair as { certPem: string; keyPem: string };
  }

  async start(onChange: (c: { certPem: string; keyPem: string }) => void): Promise<void> {
    this.load();
    this.timer = setInterval(() => {
      try {
        if (this.load() && this.pair) onChange(this.pair);
      } catch {
        /* mid-rotation: files briefly missing; next tick */
      }
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
