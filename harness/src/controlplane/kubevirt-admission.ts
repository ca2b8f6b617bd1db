// KubeVirt's and CDI's own admission on a local API server: a conformance command's `webhook` mode
// (virt-api's validating admitters, conformance/kubevirt/webhook.go; cdi-apiserver's DataVolume
// validation, conformance/cdi/webhook.go) as a child process, and a ValidatingWebhookConfiguration
// with the project's webhooks (names, rules, failure policy, timeouts as its operator generates
// them) pointed at it. Without it, a kubevirt.io object or a DataVolume written to the sandbox or
// the test control plane is checked by the CRD schema alone, so objects KubeVirt or CDI refuse
// would be accepted there.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeConfigFrom } from '../../../kube/src/client.ts';
import { createCertificateAuthority, issueCertificate } from '../../../kube/src/pki.ts';
import { isNotFound, KubeRest } from '../../../kube/src/rest.ts';
import { CDI_VERSION, KUBEVIRT_VERSION } from './conformance.ts';

/** The configuration's name; virt-operator's own is virt-api-validator, which this never touches. */
export const KUBEVIRT_ADMISSION_NAME = 'vmplane-kubevirt-admission';
/** The labels that make a configuration of that name vmplane's (and so one it may replace). */
export const KUBEVIRT_ADMISSION_LABELS = {
  'app.kubernetes.io/managed-by': 'vmplane',
  'app.kubernetes.io/component': 'kubevirt-admission',
};
/** CDI's: cdi-operator's own is cdi-api-datavolume-validate, which this never touches. */
export const CDI_ADMISSION_NAME = 'vmplane-cdi-admission';
export const CDI_ADMISSION_LABELS = {
  'app.kubernetes.io/managed-by': 'vmplane',
  'app.kubernetes.io/component': 'cdi-admission',
};
const CONFIGS = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';

type Json = Record<string, unknown>;
interface Webhook extends Json {
  name: string;
  clientConfig: { service?: { path?: string }; url?: string; caBundle?: string };
}
interface Config {
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
}

export interface KubeVirtAdmissionOptions {
  /** The kubevirt-conformance command (ensureConformance().kubevirt). */
  bin: string;
  /** The configuration's name; KUBEVIRT_ADMISSION_NAME by default. */
  name?: string;
  /** The API server: the admitters read instance types, restores, namespaces... through it. */
  kubeconfigPath: string;
  /** KubeVirt's install namespace: its KubeVirt CR configures the admitters. kubevirt by default. */
  namespace?: string;
  /**
   * User names the admitters treat as KubeVirt's own service accounts (allowed to change a VMI's
   * spec, to set KubeVirt's restricted labels). None by default: every writer is a user.
   */
  kubevirtUsers?: string[];
  /** How long the API server waits for an answer; KubeVirt's own is 10 s. */
  timeoutSeconds?: number;
  log?: (line: string) => void;
}

export interface CdiAdmissionOptions {
  /** The cdi-conformance command (ensureConformance().cdi). */
  bin: string;
  /** The configuration's name; CDI_ADMISSION_NAME by default. */
  name?: string;
  /** The API server: the DataVolume validation reads claims and clone sources through it. */
  kubeconfigPath: string;
  /** How long the API server waits for an answer; CDI's own is 30 s. */
  timeoutSeconds?: number;
  log?: (line: string) => void;
}

/** What differs between KubeVirt's admission and CDI's. */
interface Project {
  /** Its name and release, for messages. */
  who: string;
  name: string;
  labels: Record<string, string>;
  args: string[];
  /** An object its admission refuses and the CRD accepts, and words of the refusal. */
  probe: object;
  refusal: string;
}

export interface RunningAdmission {
  port: number;
  pid: number;
  /** The ValidatingWebhookConfiguration's name. */
  name: string;
  /** Removes the configuration (only if still ours), then stops the process. */
  stop(): Promise<void>;
  /** Kills the process at once, leaving the configuration (for a run that is being killed). */
  kill(): void;
}

/** The configuration for a webhook process on 127.0.0.1:port, its webhooks pointed at it by URL. */
export function admissionConfiguration(
  name: string,
  labels: Record<string, string>,
  webhooks: Webhook[],
  port: number,
  caPem: string,
  timeoutSeconds?: number,
): Json {
  const caBundle = Buffer.from(caPem).toString('base64');
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name, labels },
    webhooks: webhooks.map((w) => {
      const path = w.clientConfig.service?.path;
      if (!path) throw new Error(`webhook ${w.name} has no path`);
      return {
        ...w,
        clientConfig: { url: `https://127.0.0.1:${port}${path}`, caBundle },
        ...(timeoutSeconds ? { timeoutSeconds } : {}),
      };
    }),
  };
}

const isOurs = (labels: Record<string, string>, c: Config | undefined): boolean =>
  Object.entries(labels).every(([k, v]) => c?.metadata.labels?.[k] === v);

async function getConfig(rest: KubeRest, name: string): Promise<Config | undefined> {
  try {
    return (await rest.request<Config>('GET', `${CONFIGS}/${name}`)).body;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Fails if a configuration of that name exists and is someone else's. */
function refuseForeign(p: Project, name: string, existing: Config | undefined): void {
  if (existing && !isOurs(p.labels, existing))
    throw new Error(
      `ValidatingWebhookConfiguration ${name} exists and is not vmplane's (no ${Object.entries(
        p.labels,
      )
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}): ${p.who}'s admission is not registered over it`,
    );
}

/** Writes the configuration, replacing one of that name only if it is vmplane's (a stale one). */
async function register(rest: KubeRest, p: Project, name: string, config: Json): Promise<Config> {
  const existing = await getConfig(rest, name);
  refuseForeign(p, name, existing);
  if (!existing) return (await rest.request<Config>('POST', CONFIGS, { body: config })).body;
  const body = {
    ...config,
    metadata: { ...(config.metadata as Json), resourceVersion: existing.metadata.resourceVersion },
  };
  return (await rest.request<Config>('PUT', `${CONFIGS}/${name}`, { body })).body;
}

/** Deletes the configuration if it is the one registered (same uid, still labelled ours). */
async function unregister(
  rest: KubeRest,
  p: Project,
  name: string,
  uid: string | undefined,
): Promise<void> {
  const live = await getConfig(rest, name);
  if (!live || !isOurs(p.labels, live) || !uid || live.metadata.uid !== uid) return;
  await rest
    .request('DELETE', `${CONFIGS}/${name}`, {
      body: { preconditions: { uid: live.metadata.uid } },
    })
    .catch((e) => {
      if (!isNotFound(e) && (e as { code?: number }).code !== 409) throw e;
    });
}

/**
 * A VM KubeVirt refuses (no run strategy) and the CRD schema accepts: the API server's answer to
 * its dry-run create says whether the webhook is called.
 */
const KUBEVIRT_PROBE = {
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name: 'vmplane-admission-probe', namespace: 'default' },
  spec: { template: { spec: { domain: { devices: {} } } } },
};

/** A DataVolume CDI refuses (a URL scheme it does not import from) and the CRD accepts. */
const CDI_PROBE = {
  apiVersion: 'cdi.kubevirt.io/v1beta1',
  kind: 'DataVolume',
  metadata: { name: 'vmplane-admission-probe', namespace: 'default' },
  spec: {
    source: { http: { url: 'ftp://vmplane.invalid/probe' } },
    storage: { resources: { requests: { storage: '1Gi' } } },
  },
};

/** Waits until the API server calls the webhook: a dry-run create of the probe is refused by it. */
async function waitAnswering(rest: KubeRest, p: Project, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      await rest.create(p.probe as never, { dryRun: true });
      last = 'the probe was accepted';
    } catch (e) {
      last = (e as Error).message;
      if (last.includes(p.refusal)) return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${p.who}'s admission did not answer within ${timeoutMs / 1000} s: ${last}`);
}

/**
 * Starts the webhook process, and resolves once it prints its port and virt-api's webhooks that it
 * serves (as virt-operator generates them).
 */
function startProcess(
  bin: string,
  args: string[],
  timeoutMs: number,
  onSpawn: (child: ChildProcessWithoutNullStreams) => void = () => {},
): Promise<{ child: ChildProcessWithoutNullStreams; port: number; webhooks: Webhook[] }> {
  // Its own process group: a terminal's Ctrl-C reaches the parent, which removes the
  // configuration before stopping it. Its standard input closes when the parent dies, however it
  // dies, and it stops then (--exit-with-stdin).
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  onSpawn(child);
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`kubevirt-conformance webhook ${why}: ${stderr.trim().slice(-1500)}`));
    };
    const timer = setTimeout(() => fail(`printed no port in ${timeoutMs / 1000} s`), timeoutMs);
    child.on('error', (e) => fail(e.message));
    child.on('exit', (code, signal) => fail(`exited (${signal ?? `exit ${code}`})`));
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      try {
        const ready = JSON.parse(out.slice(0, nl)) as { port: number; webhooks: Webhook[] };
        resolve({ child, port: ready.port, webhooks: ready.webhooks });
      } catch {
        fail(`printed ${out.slice(0, nl)}`);
      }
    });
  });
}

function stopProcess(child: ChildProcessWithoutNullStreams, graceMs = 2_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** An admission process started ahead of the API server it serves (see spawnKubeVirtAdmission). */
export interface SpawnedAdmission {
  /** Registers it once its CRDs are installed; resolves once the API server calls it. */
  register(): Promise<RunningAdmission>;
  /** Stops the process (before or instead of register). */
  kill(): void;
}

function kubevirtProject(o: KubeVirtAdmissionOptions): Project {
  return {
    who: `KubeVirt v${KUBEVIRT_VERSION}`,
    name: o.name ?? KUBEVIRT_ADMISSION_NAME,
    labels: KUBEVIRT_ADMISSION_LABELS,
    args: [
      `--namespace=${o.namespace ?? 'kubevirt'}`,
      ...(o.kubevirtUsers ?? []).map((u) => `--kubevirt-user=${u}`),
    ],
    probe: KUBEVIRT_PROBE,
    refusal: 'RunStrategy must be specified',
  };
}

function cdiProject(o: CdiAdmissionOptions): Project {
  return {
    who: `CDI v${CDI_VERSION}`,
    name: o.name ?? CDI_ADMISSION_NAME,
    labels: CDI_ADMISSION_LABELS,
    args: [],
    probe: CDI_PROBE,
    refusal: 'Invalid source URL scheme',
  };
}

/**
 * Starts KubeVirt's validating admission for the API server of the kubeconfig, registers it, and
 * resolves once the API server calls it. The KubeVirt CRDs must be installed. Refuses to start if
 * a configuration of its name exists that is not vmplane's.
 */
export function startKubeVirtAdmission(o: KubeVirtAdmissionOptions): Promise<RunningAdmission> {
  return spawnAdmission(kubevirtProject(o), o).register();
}

/**
 * Starts KubeVirt's admission process now, registered later. Its Go packages take seconds of CPU
 * to load before it reads anything, so the sandbox starts it as soon as the kubeconfig is written,
 * while kube-apiserver starts; it waits for the API server and its informers sync once the CRDs
 * are there (the CDI CRDs first: KubeVirt looks for CDI's DataSource API once, after its first
 * sync). register() once the CRDs are Established.
 */
export function spawnKubeVirtAdmission(o: KubeVirtAdmissionOptions): SpawnedAdmission {
  return spawnAdmission(kubevirtProject(o), o);
}

/**
 * Starts CDI's DataVolume validation for the API server of the kubeconfig, registers it, and
 * resolves once the API server calls it. The CDI CRDs must be installed.
 */
export function startCdiAdmission(o: CdiAdmissionOptions): Promise<RunningAdmission> {
  return spawnAdmission(cdiProject(o), o).register();
}

/** CDI's, started now and registered later, as spawnKubeVirtAdmission. */
export function spawnCdiAdmission(o: CdiAdmissionOptions): SpawnedAdmission {
  return spawnAdmission(cdiProject(o), o);
}

function spawnAdmission(
  p: Project,
  o: { bin: string; kubeconfigPath: string; timeoutSeconds?: number; log?: (l: string) => void },
): SpawnedAdmission {
  const started = Date.now();
  const name = p.name;
  const ca = createCertificateAuthority(`${name}-ca`, 365);
  const serving = issueCertificate(ca, {
    commonName: name,
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    usages: ['server'],
    validityDays: 365,
  });
  // The process reads its key at start; the files go as soon as it listens.
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  writeFileSync(join(dir, 'tls.crt'), serving.certPem, { mode: 0o600 });
  writeFileSync(join(dir, 'tls.key'), serving.keyPem, { mode: 0o600 });
  const args = [
    'webhook',
    `--cert=${join(dir, 'tls.crt')}`,
    `--key=${join(dir, 'tls.key')}`,
    `--kubeconfig=${o.kubeconfigPath}`,
    '--exit-with-stdin',
    ...p.args,
  ];
  let child: ChildProcessWithoutNullStreams | undefined;
  const proc = startProcess(o.bin, args, 120_000, (c) => (child = c)).finally(() =>
    rmSync(dir, { recursive: true, force: true }),
  );
  // Handled here; register() reads it.
  proc.catch(() => undefined);
  const kill = (): void => void child?.kill('SIGKILL');
  return {
    kill,
    register: () =>
      registerAdmission(p, o, { proc, ca, started }).catch((e: unknown) => {
        kill();
        throw e;
      }),
  };
}

async function registerAdmission(
  p: Project,
  o: { kubeconfigPath: string; timeoutSeconds?: number; log?: (l: string) => void },
  s: {
    proc: Promise<{ child: ChildProcessWithoutNullStreams; port: number; webhooks: Webhook[] }>;
    ca: { certPem: string };
    started: number;
  },
): Promise<RunningAdmission> {
  const name = p.name;
  const kc: KubeConfig = kubeConfigFrom(o.kubeconfigPath);
  const rest = new KubeRest(kc);
  let child: ChildProcessWithoutNullStreams | undefined;
  let uid: string | undefined;
  const stop = async (): Promise<void> => {
    try {
      await unregister(rest, p, name, uid);
    } finally {
      rest.close();
      if (child) await stopProcess(child);
    }
  };
  try {
    refuseForeign(p, name, await getConfig(rest, name));
    const proc = await s.proc;
    child = proc.child;
    const listening = Date.now();
    const config = admissionConfiguration(
      name,
      p.labels,
      proc.webhooks,
      proc.port,
      s.ca.certPem,
      o.timeoutSeconds,
    );
    uid = (await register(rest, p, name, config)).metadata.uid;
    await waitAnswering(rest, p, 30_000);
    const secs = (from: number, to = Date.now()): string => `${((to - from) / 1000).toFixed(1)} s`;
    o.log?.(
      `${p.who}'s validating admission registered (${name}, ${proc.webhooks.length} webhooks at 127.0.0.1:${proc.port}) in ${secs(s.started)}: listening after ${secs(s.started, listening)}, called by the API server ${secs(listening)} later`,
    );
    const kill = (): void => void proc.child.kill('SIGKILL');
    return { port: proc.port, pid: proc.child.pid ?? 0, name, stop, kill };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}
