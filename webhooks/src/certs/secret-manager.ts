// Certificates that manage themselves, kept in two Secrets (secret-data.ts) that every replica
// reads. Each pass reads both Secrets, asks the plan (plan.ts) for the next step, writes at most
// that one step (the CA Secret first, each write conditional on what was read, so replicas never
// interleave), keeps the webhook configurations' caBundle current (injection.ts), hands the
// server a new serving pair once the configurations trust its CA, and says in this replica's
// serving report (serving-reports.ts, one Lease shared by all replicas) which CA issued what it
// serves. The decisions are pure and
// live in those files; this one only reads, writes and injects.
import type { KubeConfig } from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { ApiError, type KubeRest, sharedOrOwnRest } from '../../../kube/src/rest.ts';
import { microTime } from '../../../kube/src/leader.ts';
import { getLive } from '../../../kube/src/ownership.ts';
import type { KeyPair } from '../../../kube/src/pki.ts';
import {
  applyAction,
  caBundle,
  issuerFingerprint,
  planCertificates,
  replicasBehind,
  type CertAction,
  type CertPolicy,
  type StoredCerts,
} from './plan.ts';
import { b64 } from './pem.ts';
import type { CertSource } from './cert-source.ts';
import {
  bundleTrusts,
  caSerialOf,
  CA_SERIAL_ANNOTATION,
  shouldInject,
  type WebhookConfigurationLike,
} from './injection.ts';
import { fromSecretData, toCaSecretData, toTlsSecretData } from './secret-data.ts';
import {
  reportsIn,
  SERVING_LEASE,
  SERVING_REPORTS_ANNOTATION,
  withReport,
  type Lease,
  type ServingReport,
} from './serving-reports.ts';

const sameData = (a: Record<string, string> | undefined, b: Record<string, string>): boolean =>
  !!a &&
  Object.keys(a).length === Object.keys(b).length &&
  Object.entries(b).every(([k, v]) => a[k] === v);

export interface SecretCertOptions {
  kc: KubeConfig;
  /** The process's connections to the API server, shared (else the manager opens its own). */
  rest?: KubeRest;
  namespace: string;
  /** The Secret the replicas serve from (serving pair and CA certificate). */
  secretName: string;
  /** The Secret of the CA and its key; `<secretName>-ca` when not given. */
  caSecretName?: string;
  policy: CertPolicy;
  /** Webhook configurations whose caBundle this manager keeps current. */
  webhookConfigurations: {
    kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration';
    name: string;
  }[];
  /** This replica, in its serving report (a Pod's name in a cluster). */
  identity?: string;
  checkIntervalMs?: number;
  now?: () => number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** Reports expired this long are dropped (a Pod that went away). */
const FORGET_AFTER_MS = 60 * 60_000;
/** Writes of the shared report Lease retried on a conflict (another replica wrote first). */
const REPORT_ATTEMPTS = 5;

interface SecretBody {
  data?: Record<string, string>;
  metadata: { resourceVersion: string };
}

/** Self-managed certificates kept in Secrets (the default). */
export class SecretCertManager implements CertSource {
  private readonly o: SecretCertOptions;
  private readonly rest: KubeRest;
  private readonly releaseRest: () => void;
  private readonly identity: string;
  private state?: StoredCerts;
  private timer?: NodeJS.Timeout;
  private onChange?: (c: { certPem: string; keyPem: string }) => void;
  private busy = false;
  /** The pair handed to the server: what this replica serves (and reports). */
  private served?: KeyPair;
  /** The replicas the old CA was last kept for (logged when it changes). */
  private behind: string[] = [];
  /** This replica's report as last written: the CA fingerprint and when. */
  private reported?: { caFingerprint: string; at: number };

  constructor(o: SecretCertOptions) {
    this.o = o;
    ({ rest: this.rest, release: this.releaseRest } = sharedOrOwnRest(o.kc, o.rest));
    this.identity = o.identity ?? `${hostname()}-${process.pid}`;
  }

  /** The pair this replica serves. */
  current(): { certPem: string; keyPem: string } {
    if (!this.state) throw new Error('certificates not loaded yet');
    return this.served ?? this.state.serving;
  }

  get stored(): StoredCerts | undefined {
    return this.state;
  }

  bundle(): string {
    if (!this.state) throw new Error('certificates not loaded yet');
    return caBundle(this.state);
  }

  /**
   * False once this replica has not been able to renew its serving report for two thirds of the
   * report's duration: others may soon count it as gone and retire the CA it serves, so /readyz
   * takes it out of the Service first.
   */
  get reporting(): boolean {
    const now = (this.o.now ?? Date.now)();
    return !!this.reported && now - this.reported.at < (this.o.policy.reportDurationMs * 2) / 3;
  }

  private get ns(): string {
    return `/api/v1/namespaces/${this.o.namespace}`;
  }

  private get caSecretName(): string {
    return this.o.caSecretName ?? `${this.o.secretName}-ca`;
  }

  private get leases(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases`;
  }

  private async readSecret(name: string): Promise<SecretBody | undefined> {
    return getLive<SecretBody>(this.rest, `${this.ns}/secrets/${name}`);
  }

  private async read(): Promise<{ certs?: StoredCerts; ca?: SecretBody; tls?: SecretBody }> {
    // The reverse of the order of writes (CA, then TLS): a read that straddles another replica's
    // write sees a serving certificate older than the CAs, never one of a CA it does not know,
    // and its own write of the TLS Secret then fails on the resourceVersion.
    const tls = await this.readSecret(this.o.secretName);
    const ca = await this.readSecret(this.caSecretName);
    return { certs: fromSecretData(ca?.data, tls?.data), ca, tls };
  }

  /** Writes one Secret if its data changed; false when another replica wrote first. */
  private async writeSecret(
    name: string,
    type: string,
    data: Record<string, string>,
    read: SecretBody | undefined,
  ): Promise<boolean> {
    if (sameData(read?.data, data)) return true;
    const resourceVersion = read?.metadata.resourceVersion;
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      type,
      metadata: {
        name,
        namespace: this.o.namespace,
        labels: { 'app.kubernetes.io/part-of': 'vmplane' },
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      data,
    };
    try {
      if (resourceVersion) await this.rest.request('PUT', `${this.ns}/secrets/${name}`, { body });
      else await this.rest.request('POST', `${this.ns}/secrets`, { body });
      return true;
    } catch (e) {
      // Another replica wrote first: take its state on the next pass.
      if (e instanceof ApiError && (e.code === 409 || e.code === 422)) return false;
      throw e;
    }
  }

  private get reportLease(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases/${SERVING_LEASE}`;
  }

  /** Every replica's report, from the shared Lease; those gone long ago are not counted. */
  private async readReports(now: number): Promise<ServingReport[]> {
    const lease = await getLive<Lease>(this.rest, this.reportLease);
    return reportsIn(lease?.metadata.annotations).filter(
      (r) => r.expiresAt + FORGET_AFTER_MS > now,
    );
  }

  /** Says which CA issued what this replica serves: written on change and every third of the duration. */
  private async report(certs: StoredCerts, now: number): Promise<void> {
    const caFingerprint = issuerFingerprint(certs);
    const due = this.o.policy.reportDurationMs / 3;
    if (this.reported?.caFingerprint === caFingerprint && now - this.reported.at < due) return;
    const mine: ServingReport = {
      identity: this.identity,
      caFingerprint,
      expiresAt: now + this.o.policy.reportDurationMs,
    };
    for (let attempt = 0; attempt < REPORT_ATTEMPTS; attempt++) {
      const existing = await getLive<Lease>(this.rest, this.reportLease);
      const annotations = {
        ...existing?.metadata.annotations,
        [SERVING_REPORTS_ANNOTATION]: withReport(
          existing?.metadata.annotations,
          mine,
          now,
          FORGET_AFTER_MS,
        ),
      };
      const body = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: SERVING_LEASE,
          namespace: this.o.namespace,
          labels: { 'app.kubernetes.io/part-of': 'vmplane' },
          annotations,
          ...(existing?.metadata.resourceVersion
            ? { resourceVersion: existing.metadata.resourceVersion }
            : {}),
        },
        spec: { ...existing?.spec, renewTime: microTime(now) },
      };
      try {
        if (existing) await this.rest.request('PUT', this.reportLease, { body });
        // Outside a cluster (the sandbox, tests) the manager makes the Lease; in a cluster the
        // chart does, and the webhooks may not create Leases at all.
        else await this.rest.request('POST', this.leases, { body });
        this.reported = { caFingerprint, at: now };
        return;
      } catch (e) {
        if (e instanceof ApiError && e.code === 409) continue;
        if (e instanceof ApiError && e.code === 403 && !existing)
          throw new Error(
            `the serving report Lease ${this.o.namespace}/${SERVING_LEASE} is missing and the webhooks may not create it (the chart makes it: helm upgrade restores it)`,
            { cause: e },
          );
        throw e;
      }
    }
    throw new Error(
      `the serving report Lease changed ${REPORT_ATTEMPTS} times while being written`,
    );
  }

  /** One pass: read, plan, write at most one step, inject, reload, report. Returns the action taken. */
  async reconcile(): Promise<CertAction> {
    if (this.busy) return 'none';
    this.busy = true;
    try {
      const now = (this.o.now ?? Date.now)();
      const first = await this.read();
      let certs = first.certs;
      // Reports matter only while an old CA waits to be retired.
      const reports = certs?.oldCaPem ? await this.readReports(now) : [];
      const action = planCertificates(certs, now, this.o.policy, reports);
      const next = action === 'none' ? certs : applyAction(action, certs, now, this.o.policy);
      if (next) {
        // The CA first: a serving certificate is never stored before the CA that issued it.
        const written =
          (await this.writeSecret(this.caSecretName, 'Opaque', toCaSecretData(next), first.ca)) &&
          (await this.writeSecret(
            this.o.secretName,
            'kubernetes.io/tls',
            toTlsSecretData(next),
            first.tls,
          ));
        if (written) {
          if (action !== 'none')
            this.o.log?.('certificates: ' + action, {
              secret: `${this.o.namespace}/${this.o.secretName}`,
            });
          certs = next;
        } else {
          ({ certs } = await this.read());
        }
      }
      if (!certs) throw new Error('certificate Secrets could not be read or created');
      const behind = action === 'none' && certs.oldCaPem ? replicasBehind(certs, reports, now) : [];
      if (behind.join() !== this.behind.join() && behind.length)
        this.o.log?.('certificates: old CA kept, replicas still serve it', { replicas: behind });
      this.behind = behind;
      this.state = certs;
      const trusted = await this.inject(certs);
      // Serve the new pair only once the configurations trust its CA. Until then (an inject cut
      // short), the pair served so far stays, and so does its report.
      if (this.served?.certPem !== certs.serving.certPem && trusted) {
        this.served = certs.serving;
        this.onChange?.(certs.serving);
      }
      await this.report({ ...certs, serving: this.served ?? certs.serving }, now);
      return action;
    } finally {
      this.busy = false;
    }
  }

  /**
   * Keeps every listed webhook configuration's caBundle equal to the bundle of this state, unless
   * the configuration already carries a newer state's bundle. The patch is conditional on the
   * resourceVersion read, so two replicas never interleave.
   */
  async inject(certs: StoredCerts): Promise<boolean> {
    const want = b64(caBundle(certs));
    const serial = certs.serial ?? 0;
    let trusted = true;
    for (const c of this.o.webhookConfigurations) {
      const path = `/apis/admissionregistration.k8s.io/v1/${c.kind === 'MutatingWebhookConfiguration' ? 'mutatingwebhookconfigurations' : 'validatingwebhookconfigurations'}/${c.name}`;
      const cfg = await getLive<WebhookConfigurationLike>(this.rest, path);
      if (!cfg) continue; // not registered (yet)
      const hooks = cfg.webhooks ?? [];
      const theirs = caSerialOf(cfg);
      const match = hooks.every((w) => w.clientConfig?.caBundle === want);
      if (!shouldInject(serial, theirs, match)) {
        trusted &&= hooks.every((w) =>
          bundleTrusts(w.clientConfig?.caBundle, certs.serving.certPem),
        );
        continue;
      }
      const ops: unknown[] = [
        { op: 'test', path: '/metadata/resourceVersion', value: cfg.metadata.resourceVersion },
        cfg.metadata.annotations
          ? {
              op: 'add',
              path: `/metadata/annotations/${CA_SERIAL_ANNOTATION.replace('/', '~1')}`,
              value: String(serial),
            }
          : {
              op: 'add',
              path: '/metadata/annotations',
              value: { [CA_SERIAL_ANNOTATION]: String(serial) },
            },
        ...hooks.map((_, i) => ({
          op: 'add',
          path: `/webhooks/${i}/clientConfig/caBundle`,
          value: want,
        })),
      ];
      try {
        await this.rest.request('PATCH', path, {
          body: ops,
          contentType: 'application/json-patch+json',
        });
      } catch (e) {
        // Changed since it was read (a failed test is 422, a conflict 409): the next pass decides.
        if (e instanceof ApiError && (e.code === 409 || e.code === 422)) {
          trusted = false;
          continue;
        }
        throw e;
      }
    }
    return trusted;
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
    this.releaseRest();
  }
}
