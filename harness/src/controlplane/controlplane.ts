// A real etcd + kube-apiserver + kube-controller-manager on free loopback ports, with generated
// certificates, RBAC on and an admin client certificate, the way envtest starts them (plus the
// controller manager envtest leaves out: see controller-manager.ts). Used by the tests' global
// setup and by the sandbox. stop() ends the processes and removes every file it made.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import {
  createCertificateAuthority,
  generateRsaKey,
  issueCertificate,
  type KeyPair,
} from '../../../kube/src/pki.ts';
import type { Binaries } from './binaries.ts';
import { controllerManagerArgs, writeControllerManagerFiles } from './controller-manager.ts';
import { httpGetOk, httpsGetOk } from './probes.ts';
import {
  admissionConfigYaml,
  WEBHOOK_CLIENT,
  webhookClientKubeconfigYaml,
} from './webhook-client.ts';

export interface ControlPlaneOptions {
  binaries: Binaries;
  /** Where to write the admin kubeconfig; defaults to a file in the temporary folder. */
  kubeconfigPath?: string;
  /** Prefix of the temporary folder (under the OS temp dir). */
  tempPrefix?: string;
  log?: (line: string) => void;
  /** Extra environment for the child processes (the test runner tags them with a run id). */
  env?: NodeJS.ProcessEnv;
  /** Log every write (create, update, patch, delete) with its user, as JSON lines, in audit.log. */
  auditWrites?: boolean;
  /** Runs each start-up step (certificates, etcd, kube-apiserver), for a profile of where time goes. */
  step?: <T>(name: string, fn: () => Promise<T> | T) => Promise<T>;
  /**
   * Called once the admin kubeconfig is written, as kube-apiserver starts (before it is ready):
   * for a client whose own start is long and that waits for the API server anyway.
   */
  onKubeconfig?: (path: string) => void;
}

export interface ControlPlaneEndpoints {
  server: string;
  kubeconfigPath: string;
  caPem: string;
  admin: KeyPair;
  /** With auditWrites: the API server's audit log of writes (JSON lines, audit.k8s.io/v1 Events). */
  auditLogPath?: string;
  /**
   * The client certificate kube-apiserver presents to every admission webhook it calls (from its
   * admission configuration): the CA that issued it (PEM and file) and its common name, as the
   * webhooks' clientAuth option takes them: webhooks started with it answer this API server only.
   */
  webhookClient: { caPem: string; caPath: string; allowedNames: string[] };
}

/** An audit policy: who wrote what (no bodies), nothing about reads. */
export const WRITES_AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** `setpriv --pdeathsig` makes the kernel kill the child if this process dies, even by SIGKILL. */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export function kubeconfigYaml(
  server: string,
  caPem: string,
  user: KeyPair,
  name = 'vmplane',
): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [
      {
        name: `${name}-admin`,
        user: { 'client-certificate-data': b64(user.certPem), 'client-key-data': b64(user.keyPem) },
      },
    ],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin`, namespace: 'default' } }],
    'current-context': name,
  });
}

/** The common name of the API server's front-proxy client certificate. */
export const FRONT_PROXY_CLIENT = 'front-proxy-client';

export function apiServerArgs(p: { etcdUrl: string; port: number; dir: string }): string[] {
  const f = (n: string): string => join(p.dir, n);
  return [
    `--etcd-servers=${p.etcdUrl}`,
    `--secure-port=${p.port}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--cert-dir=${f('apiserver-certs')}`,
    `--tls-cert-file=${f('apiserver.crt')}`,
    `--tls-private-key-file=${f('apiserver.key')}`,
    `--client-ca-file=${f('ca.crt')}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    '--authorization-mode=RBAC',
    '--disable-admission-plugins=ServiceAccount',
    `--service-account-issuer=https://127.0.0.1:${p.port}/`,
    `--service-account-key-file=${f('sa.pub')}`,
    `--service-account-signing-key-file=${f('sa.key')}`,
    // The aggregation layer, as kubeadm sets it up: the API server proxies aggregated APIs (the
    // local engine's subresources.kubevirt.io) with a front-proxy client certificate, and tells
    // them who the user is in X-Remote-* headers; kube-system/extension-apiserver-authentication
    // publishes the CA and names they check.
    `--requestheader-client-ca-file=${f('front-proxy-ca.crt')}`,
    `--requestheader-allowed-names=${FRONT_PROXY_CLIENT}`,
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${f('front-proxy-client.crt')}`,
    `--proxy-client-key-file=${f('front-proxy-client.key')}`,
    // Admission webhooks are called with a client certificate of their own (WEBHOOK_CLIENT).
    `--admission-control-config-file=${f('admission-config.yaml')}`,
  ];
}

/**
 * The API server's certificates and keys, written into its folder: its CA, the admin's, and the
 * webhook client CA with the admission configuration that presents its certificate.
 */
type Certificates = { ca: KeyPair; admin: KeyPair; webhookClientCa: KeyPair };
function writeCertificates(dir: string): Certificates {
  const ca = createCertificateAuthority('vmplane-sandbox-ca', 365);
  const serving = issueCertificate(ca, {
    commonName: 'kube-apiserver',
    dnsNames: [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ],
    ipAddresses: ['127.0.0.1', '10.0.0.1'],
    usages: ['server'],
    validityDays: 365,
  });
  const admin = issueCertificate(ca, {
    commonName: 'vmplane-admin',
    organization: ['system:masters'],
    usages: ['client'],
    validityDays: 365,
  });
  const sa = generateRsaKey();
  const frontProxyCa = createCertificateAuthority('vmplane-sandbox-front-proxy-ca', 365);
  const frontProxy = issueCertificate(frontProxyCa, {
    commonName: FRONT_PROXY_CLIENT,
    usages: ['client'],
    validityDays: 365,
  });
  // A CA of its own, so a webhook trusting it trusts nothing but this API server's webhook calls.
  const webhookClientCa = createCertificateAuthority('vmplane-sandbox-webhook-client-ca', 365);
  const webhookClient = issueCertificate(webhookClientCa, {
    commonName: WEBHOOK_CLIENT,
    usages: ['client'],
    validityDays: 365,
  });
  const files: Record<string, string> = {
    'ca.crt': ca.certPem,
    'webhook-client-ca.crt': webhookClientCa.certPem,
    'webhook-client.kubeconfig': webhookClientKubeconfigYaml(webhookClient),
    'admission-config.yaml': admissionConfigYaml(join(dir, 'webhook-client.kubeconfig')),
    'front-proxy-ca.crt': frontProxyCa.certPem,
    'front-proxy-client.crt': frontProxy.certPem,
    'front-proxy-client.key': frontProxy.keyPem,
    'apiserver.crt': serving.certPem,
    'apiserver.key': serving.keyPem,
    'sa.key': sa.privateKeyPem,
    'sa.pub': sa.publicKeyPem,
  };
  for (const [n, c] of Object.entries(files)) writeFileSync(join(dir, n), c, { mode: 0o600 });
  return { ca, admin, webhookClientCa };
}

export class ControlPlane {
  private readonly opts: ControlPlaneOptions;
  private readonly log: (line: string) => void;
  private dir = '';
  private etcd?: ChildProcess;
  private apiserver?: ChildProcess;
  private controllerManager?: ChildProcess;
  private stopping = false;
  private exitHook?: () => void;
  endpoints?: ControlPlaneEndpoints;
  private apiserverArgs: string[] = [];

  constructor(opts: ControlPlaneOptions) {
    this.opts = opts;
    this.log = opts.log ?? (() => {});
  }

  /** The temporary folder (certificates, etcd data, logs). */
  get tempDir(): string {
    return this.dir;
  }

  /** Pids of the processes it runs, for leak checks. */
  get pids(): number[] {
    return [this.etcd?.pid, this.apiserver?.pid, this.controllerManager?.pid].filter(
      (p): p is number => typeof p === 'number',
    );
  }

  async start(): Promise<ControlPlaneEndpoints> {
    this.dir = mkdtempSync(join(tmpdir(), this.opts.tempPrefix ?? 'vmplane-cp-'));
    // A last resort if the owner exits without calling stop(): never leave processes behind.
    this.exitHook = () => this.killNow();
    process.once('exit', this.exitHook);
    try {
      return await this.startIn(this.dir);
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  private async startIn(dir: string): Promise<ControlPlaneEndpoints> {
    const step =
      this.opts.step ?? (<T>(_: string, fn: () => Promise<T> | T) => Promise.resolve(fn()));
    const [etcdPort, peerPort, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    this.etcd = this.spawnLogged('etcd', this.opts.binaries.etcd, [
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    // etcd needs none of the certificates: it starts while they are made.
    const { ca, admin, webhookClientCa } = await step('certificates', () => writeCertificates(dir));
    const etcd = this.etcd;
    await step('etcd', () =>
      this.waitFor('etcd', () => httpGetOk(`${etcdUrl}/health`), 30_000, etcd),
    );

    this.apiserverArgs = apiServerArgs({ etcdUrl, port: apiPort, dir });
    const auditLogPath = this.opts.auditWrites ? join(dir, 'audit.log') : undefined;
    if (auditLogPath) {
      writeFileSync(join(dir, 'audit-policy.yaml'), WRITES_AUDIT_POLICY);
      this.apiserverArgs.push(
        `--audit-policy-file=${join(dir, 'audit-policy.yaml')}`,
        `--audit-log-path=${auditLogPath}`,
        '--audit-log-format=json',
        '--audit-log-mode=blocking',
      );
    }
    this.apiserver = this.spawnLogged(
      'kube-apiserver',
      this.opts.binaries.kubeApiserver,
      this.apiserverArgs,
    );
    const server = `https://127.0.0.1:${apiPort}`;
    // Written as kube-apiserver starts: a client that waits for it may start meanwhile.
    const kubeconfigPath = this.opts.kubeconfigPath ?? join(dir, 'kubeconfig');
    mkdirSync(dirname(kubeconfigPath), { recursive: true });
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, ca.certPem, admin), { mode: 0o600 });
    this.opts.onKubeconfig?.(kubeconfigPath);
    // kube-controller-manager's certificates too, while kube-apiserver starts.
    const { servingCaPem } = writeControllerManagerFiles(dir, ca, server, kubeconfigYaml);
    const apiserver = this.apiserver;
    await step('kube-apiserver', () =>
      this.waitFor(
        'kube-apiserver',
        () => httpsGetOk(`${server}/readyz`, ca.certPem, admin),
        90_000,
        apiserver,
      ),
    );

    await this.startControllerManager(dir, servingCaPem);
    this.endpoints = {
      server,
      kubeconfigPath,
      caPem: ca.certPem,
      admin,
      ...(auditLogPath ? { auditLogPath } : {}),
      webhookClient: {
        caPem: webhookClientCa.certPem,
        caPath: join(dir, 'webhook-client-ca.crt'),
        allowedNames: [WEBHOOK_CLIENT],
      },
    };
    this.log(`kube-apiserver ready at ${server}`);
    return this.endpoints;
  }

  /**
   * kube-controller-manager, once the API server is ready. Nothing waits for it (its controllers
   * catch up on what was written meanwhile, as in any cluster): a start costs no more than the
   * API server's. One that does not answer its /healthz within a minute is said in the log.
   */
  private async startControllerManager(dir: string, servingCaPem: string): Promise<void> {
    const port = await freePort();
    const child = this.spawnLogged(
      'kube-controller-manager',
      this.opts.binaries.kubeControllerManager,
      controllerManagerArgs({ dir, port }),
    );
    this.controllerManager = child;
    void this.waitFor(
      'kube-controller-manager',
      () => httpsGetOk(`https://127.0.0.1:${port}/healthz`, servingCaPem),
      60_000,
      child,
    ).catch((e: Error) => {
      if (!this.stopping) this.log(e.message);
    });
  }

  /** Stops kube-apiserver and starts it again on the same port and store (for resilience tests). */
  async restartApiServer(): Promise<void> {
    if (!this.apiserver || !this.endpoints) throw new Error('control plane is not running');
    await terminate(this.apiserver);
    this.apiserver = this.spawnLogged(
      'kube-apiserver',
      this.opts.binaries.kubeApiserver,
      this.apiserverArgs,
    );
    const { server, caPem, admin } = this.endpoints;
    await this.waitFor(
      'kube-apiserver',
      () => httpsGetOk(`${server}/readyz`, caPem, admin),
      90_000,
      this.apiserver,
    );
  }

  private spawnLogged(name: string, bin: string, args: string[]): ChildProcess {
    const logFile = join(this.dir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const [cmd, argv] = SETPRIV
      ? [SETPRIV, ['--pdeathsig', 'KILL', '--', bin, ...args]]
      : [bin, args];
    const child = spawn(cmd, argv, {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...this.opts.env },
    });
    closeSync(fd);
    child.on('error', (e) => this.log(`${name}: ${e.message}`));
    return child;
  }

  private async waitFor(
    name: string,
    probe: () => Promise<boolean>,
    timeoutMs: number,
    child: ChildProcess,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `${name} exited (${child.exitCode ?? child.signalCode}) before becoming ready:\n${this.logTail(name)}`,
        );
      }
      if (await probe().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${name} not ready after ${timeoutMs / 1000} s:\n${this.logTail(name)}`);
  }

  private logTail(name: string): string {
    try {
      return readFileSync(join(this.dir, `${name}.log`), 'utf8')
        .split('\n')
        .slice(-20)
        .join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** Stops everything at once, synchronously (for signal handlers, where async work may not finish). */
  abort(): void {
    this.stopping = true;
    if (this.exitHook) process.removeListener('exit', this.exitHook);
    this.killNow();
  }

  private killNow(): void {
    for (const c of [this.controllerManager, this.apiserver, this.etcd]) {
      if (c?.pid && c.exitCode === null && c.signalCode === null) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Stops kube-controller-manager, kube-apiserver, then etcd: each gets `graceMs` after SIGTERM
   * before SIGKILL.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.exitHook) process.removeListener('exit', this.exitHook);
    if (this.controllerManager) await terminate(this.controllerManager, graceMs);
    if (this.apiserver) await terminate(this.apiserver, graceMs);
    if (this.etcd) await terminate(this.etcd, graceMs);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    // Files the owner asked for outside the temp folder go too.
    if (this.opts.kubeconfigPath) rmSync(this.opts.kubeconfigPath, { force: true });
  }
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
export async function terminate(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** True when a pid is alive (for leak checks). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is dead for our purposes.
  const stat = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' });
  return !stat.stdout.trim().startsWith('Z') && stat.stdout.trim() !== '';
}
