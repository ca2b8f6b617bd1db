// Starting the webhooks: caches, certificates, the HTTPS server and (optionally) registration.
// The sandbox and the tests call startWebhooks() in-process; in a cluster, `node webhooks/src/main.ts`
// runs it as its own process with settings from the environment, and SIGTERM drains it.
import { readFileSync } from 'node:fs';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import pino, { type Logger } from 'pino';
import { ApiError, KubeRest, isNotFound } from '../../kube/src/rest.ts';
import { ClusterCache } from '../../kube/src/cache.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { isProgram, stopOnSignals } from '../../kube/src/process.ts';
import { SecretCertManager } from './certs/secret-manager.ts';
import type { CertSource } from './certs/cert-source.ts';
import { FileCertSource } from './certs/file-source.ts';
import {
  caSerialOf,
  CA_SERIAL_ANNOTATION,
  type WebhookConfigurationLike,
} from './certs/injection.ts';
import { DEFAULT_POLICY, type CertPolicy } from './certs/plan.ts';
import { bufferedLogger } from './log.ts';
import {
  MUTATING_NAME,
  VALIDATING_NAME,
  webhookConfigurations,
  type Endpoint,
} from './registration.ts';
import { WebhookServer, type FaultInjection } from './server.ts';
import { ReviewingMetricsAuthorizer } from '../../kube/src/metrics-auth.ts';
import { DiskClaims } from './disk-claims.ts';
import { NetworkAddresses } from './network-addresses.ts';
import { clientAuthSettings, type ClientAuth } from './client-auth.ts';
import { DeleteRegistration } from './delete-registration.ts';
import type { VirtualMachinePolicy } from '../../api/generated/types.ts';
import { Labels } from '../../api/src/wellknown.ts';
import {
  celSchemas,
  checksDeletes,
  openCelEngine,
  PolicyCompiler,
  type CelEvaluatorSource,
} from '../../policy/src/index.ts';

export interface WebhookOptions {
  kc: KubeConfig;
  /** vmplane's namespace: the certificate Secret lives here and is never caught by the webhooks. */
  namespace: string;
  host?: string;
  port?: number;
  /** Self-managed certificates in a Secret (default), or files from cert-manager. */
  certificates?:
    | { mode: 'self'; secretName?: string; policy?: Partial<CertPolicy>; checkIntervalMs?: number }
    | { mode: 'files'; dir: string };
  /** Register the webhook configurations (the sandbox: 'self', this server's URL), or leave that to the chart. */
  register?:
    | {
        endpoint: Endpoint | 'self';
        failurePolicy?: 'Fail' | 'Ignore';
        timeoutSeconds?: number;
        scope?: string;
      }
    | false;
  /** The DNS names the serving certificate covers (the Service names in a cluster). */
  dnsNames?: string[];
  ipAddresses?: string[];
  logger?: Logger;
  cacheResyncMs?: number;
  /** Create vmplane's namespace if missing (the sandbox); in a cluster the chart made it. */
  createNamespace?: boolean;
  /** Cache VMs without their status (when nothing else, like the policy audit, reads the cache). */
  dropVmStatus?: boolean;
  /** This replica's name in its certificate report (the Pod's name in a cluster). */
  identity?: string;
  /**
   * The Kubernetes CEL engine policies run in: an engine the caller owns, or worker threads
   * started from a folder (default: $VMPLANE_CEL_DIR, two workers).
   */
  cel?: CelEvaluatorSource;
  /** The time budget for all policies' CEL on one request, in ms (default 50). */
  celTimeBudgetMs?: number;
  /**
   * Accept admission reviews only from callers with a client certificate this CA issued (and,
   * if given, one of these common names): kube-apiserver with an admission configuration that
   * presents one. Absent: every caller (managed control planes; the NetworkPolicy limits callers).
   */
  clientAuth?: ClientAuth;
  /** Test only: handler faults (see WebhookServerOptions.faults); main() never sets it. */
  faults?: FaultInjection;
}

export interface RunningWebhooks {
  port: number;
  url: string;
  server: WebhookServer;
  cache: ClusterCache;
  certs: CertSource;
  configNames: { mutating: string; validating: string };
  /** Keeps the VM DELETE webhook registered exactly while a policy checks deletions. */
  deletes: DeleteRegistration;
  stop(): Promise<void>;
}

async function ensureNamespace(rest: KubeRest, name: string): Promise<void> {
  try {
    await rest.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
    });
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 409)) throw e;
  }
}

/** Where the serving certificate comes from: files (cert-manager, the chart), or a self-rotated Secret. */
async function certSourceFor(
  o: WebhookOptions,
  rest: KubeRest,
  configNames: { mutating: string; validating: string },
  log: pino.Logger,
): Promise<CertSource> {
  const certMode = o.certificates ?? { mode: 'self' };
  if (certMode.mode === 'files') return new FileCertSource(certMode.dir);
  if (o.createNamespace !== false) await ensureNamespace(rest, o.namespace);
  return new SecretCertManager({
    kc: o.kc,
    rest,
    namespace: o.namespace,
    secretName: certMode.secretName ?? 'vmplane-webhook-tls',
    caSecretName: certMode.secretName ? `${certMode.secretName}-ca` : 'vmplane-webhook-ca',
    policy: {
      ...DEFAULT_POLICY,
      ...certMode.policy,
      dnsNames: o.dnsNames ?? ['localhost'],
      ipAddresses: o.ipAddresses ?? ['127.0.0.1'],
    },
    webhookConfigurations: [
      { kind: 'MutatingWebhookConfiguration', name: configNames.mutating },
      { kind: 'ValidatingWebhookConfiguration', name: configNames.validating },
    ],
    ...(certMode.checkIntervalMs ? { checkIntervalMs: certMode.checkIntervalMs } : {}),
    ...(o.identity ? { identity: o.identity } : {}),
    log: (msg, fields) => log.info(fields ?? {}, msg),
  });
}

/** Registers both webhook configurations, pointing at this server (the sandbox) or a Service. */
async function register(
  o: WebhookOptions,
  reg: Exclude<WebhookOptions['register'], false | undefined>,
  rest: KubeRest,
  certs: CertSource,
  port: number,
  checkDeletes: boolean,
): Promise<void> {
  const bundle = certs instanceof SecretCertManager ? certs.bundle() : '';
  const configs = webhookConfigurations({
    endpoint:
      reg.endpoint === 'self' ? { url: `https://${o.host ?? '127.0.0.1'}:${port}` } : reg.endpoint,
    caBundlePem: bundle,
    ownNamespace: o.namespace,
    ...(reg.failurePolicy ? { failurePolicy: reg.failurePolicy } : {}),
    ...(reg.timeoutSeconds ? { timeoutSeconds: reg.timeoutSeconds } : {}),
    ...(reg.scope ? { scope: reg.scope } : {}),
    checkDeletes,
  });
  const serial = certs instanceof SecretCertManager ? (certs.stored?.serial ?? 0) : undefined;
  for (const cfg of configs) await applyKeepingNewerBundle(rest, cfg, serial);
}

/**
 * Applies a webhook configuration, but never over a caBundle another replica injected from a newer
 * certificate state: that bundle is kept. Conditional on the resourceVersion read; retried when
 * the configuration changed in between.
 */
async function applyKeepingNewerBundle(
  rest: KubeRest,
  cfg: Record<string, unknown>,
  serial: number | undefined,
): Promise<void> {
  type Cfg = WebhookConfigurationLike & { kind: string; metadata: { name: string } };
  const want = cfg as unknown as Cfg;
  for (let attempt = 0; ; attempt++) {
    const live = await getLive<Cfg & KubernetesObject>(
      rest,
      `/apis/admissionregistration.k8s.io/v1/${want.kind.toLowerCase()}s/${want.metadata.name}`,
    );
    const theirs = live ? caSerialOf(live) : undefined;
    const keep = serial === undefined || (theirs !== undefined && theirs > serial);
    const liveBundle = live?.webhooks?.[0]?.clientConfig?.caBundle;
    const body = {
      ...want,
      metadata: {
        ...want.metadata,
        ...(live?.metadata.resourceVersion
          ? { resourceVersion: live.metadata.resourceVersion }
          : {}),
        ...(serial === undefined
          ? {}
          : {
              annotations: {
                ...want.metadata.annotations,
                [CA_SERIAL_ANNOTATION]: String(keep ? theirs : serial),
              },
            }),
      },
      webhooks: (want.webhooks ?? []).map((w) =>
        keep && liveBundle && serial !== undefined
          ? { ...w, clientConfig: { ...w.clientConfig, caBundle: liveBundle } }
          : w,
      ),
    };
    try {
      await rest.apply(body as never, { fieldManager: 'vmplane-webhooks' });
      return;
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 409) || attempt >= 5) throw e;
    }
  }
}

export async function startWebhooks(o: WebhookOptions): Promise<RunningWebhooks> {
  const log = o.logger ?? pino({ name: 'vmplane-webhooks' });
  const rest = new KubeRest(o.kc);
  const suffix = o.register && o.register.scope ? `-${o.register.scope}` : '';
  const configNames = {
    mutating: `${MUTATING_NAME}${suffix}`,
    validating: `${VALIDATING_NAME}${suffix}`,
  };

  const cache = new ClusterCache(o.kc, {
    rest,
    ...(o.cacheResyncMs ? { resyncMs: o.cacheResyncMs } : {}),
    ...(o.dropVmStatus ? { dropVmStatus: true } : {}),
    onError: (what, err, retry) =>
      log.warn(
        { cache: what, err: (err as Error)?.message ?? String(err), retryInMs: retry },
        'cache watch failed; restarting',
      ),
  });

  const cel = await openCelEngine(o.cel, {
    schemas: celSchemas(),
    onRestart: (why) => log.warn({ why }, 'CEL worker replaced'),
  });
  const compiler = new PolicyCompiler(cel.engine, o.celTimeBudgetMs);
  const certs = await certSourceFor(o, rest, configNames, log);

  let server: WebhookServer | undefined;
  await certs.start((pair) => {
    server?.setCertificate(pair.certPem, pair.keyPem);
    log.info('serving certificate reloaded');
  });
  server = new WebhookServer({
    lookups: cache,
    // A replica that cannot say which certificate it serves may soon see its CA retired: it leaves
    // the Service first.
    lookupsReady: () =>
      cache.synced && (certs instanceof SecretCertManager ? certs.reporting : true),
    tls: certs.current(),
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 0,
    logger: log,
    claims: new DiskClaims(rest),
    addresses: new NetworkAddresses(rest),
    policies: compiler,
    metricsAuthorizer: new ReviewingMetricsAuthorizer(rest),
    ...(o.faults ? { faults: o.faults } : {}),
    ...(o.clientAuth ? { clientAuth: o.clientAuth } : {}),
  });
  const port = await server.start();
  await cache.start();
  await cache.waitForSync();

  const scope = o.register ? o.register.scope : undefined;
  // Tests sharing an API server see only their own policies.
  const policies = (): VirtualMachinePolicy[] =>
    cache.policies().filter((p) => !scope || p.metadata.labels?.[Labels.webhookScope] === scope);
  if (o.register) await register(o, o.register, rest, certs, port, checksDeletes(policies()));
  const deletes = new DeleteRegistration({
    rest,
    configName: configNames.validating,
    ...(scope ? { scope } : {}),
    policies,
    onPolicyChange: (h) => cache.onChange(['policies'], h),
    log,
  });
  deletes.start();
  log.info({ port, clientAuth: o.clientAuth ? 'clientCertificate' : 'none' }, 'webhooks ready');

  return {
    port,
    url: `https://${o.host ?? '127.0.0.1'}:${port}`,
    server,
    cache,
    certs,
    configNames,
    deletes,
    async stop() {
      deletes.stop();
      await server?.stop();
      certs.stop();
      await cache.stop();
      rest.close();
      if (cel.owned) await cel.engine.close();
    },
  };
}

/** Removes the webhook configurations (the sandbox does this on exit, so nothing blocks the API). */
export async function unregisterWebhooks(
  kc: KubeConfig,
  names: { mutating: string; validating: string },
): Promise<void> {
  const rest = new KubeRest(kc);
  try {
    for (const [kind, name] of [
      ['mutatingwebhookconfigurations', names.mutating],
      ['validatingwebhookconfigurations', names.validating],
    ] as const) {
      try {
        await rest.request('DELETE', `/apis/admissionregistration.k8s.io/v1/${kind}/${name}`);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  } finally {
    rest.close();
  }
}

export async function main(): Promise<void> {
  const env = process.env;
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const namespace = env.VMPLANE_NAMESPACE ?? 'vmplane-system';
  const service = env.VMPLANE_SERVICE_NAME ?? 'vmplane-webhooks';
  const { logger, flush } = bufferedLogger('vmplane-webhooks');
  const auth = clientAuthSettings(process.argv.slice(2), env);
  const running = await startWebhooks({
    ...(auth
      ? {
          clientAuth: {
            caPem: readFileSync(auth.caFile, 'utf8'),
            allowedNames: auth.allowedNames,
          },
        }
      : {}),
    kc,
    logger,
    namespace,
    host: env.VMPLANE_LISTEN_HOST ?? '0.0.0.0',
    port: Number(env.VMPLANE_PORT ?? 8443),
    certificates: env.VMPLANE_CERT_DIR
      ? { mode: 'files', dir: env.VMPLANE_CERT_DIR }
      : { mode: 'self' },
    cel: { dir: env.VMPLANE_CEL_DIR ?? '/app/kcel', workers: Number(env.VMPLANE_CEL_WORKERS ?? 2) },
    ...(env.VMPLANE_CEL_TIME_BUDGET_MS
      ? { celTimeBudgetMs: Number(env.VMPLANE_CEL_TIME_BUDGET_MS) }
      : {}),
    dnsNames: [
      service,
      `${service}.${namespace}`,
      `${service}.${namespace}.svc`,
      `${service}.${namespace}.svc.cluster.local`,
    ],
    // Extra IP SANs, for a webhook reached by address (benchmarks, out-of-cluster setups).
    ipAddresses: (env.VMPLANE_CERT_IPS ?? '').split(',').filter(Boolean),
    register: false,
    createNamespace: false,
    ...(env.POD_NAME ? { identity: env.POD_NAME } : {}),
    // The standalone webhook process is the cache's only reader: VM status is never looked at.
    dropVmStatus: true,
  });
  stopOnSignals(async () => {
    await running.stop();
    flush();
  });
}

if (isProgram(import.meta.url, '/webhooks/src/main.ts')) await main();
