// `npm start`: a local vmplane with no cluster needed. A real etcd and kube-apiserver, the vmplane
// CRDs, the examples applied; a kubeconfig at a stable path in the repository. SIGINT/SIGTERM
// stops everything it started.
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { CDI_VERSION, ensureConformance, KUBEVIRT_VERSION } from './controlplane/conformance.ts';
import { installEngineApis } from './controlplane/engine-apis.ts';
import {
  reportDemoVm,
  SANDBOX_PROVISIONERS,
  sandboxDebianImage,
  sandboxExamples,
  watchDebianVm,
} from './sandbox-vms.ts';
import {
  startCdiAdmission,
  startKubeVirtAdmission,
  type RunningAdmission,
} from './controlplane/kubevirt-admission.ts';
import { ensureBinaries } from './controlplane/binaries.ts';
import { cacheRoot, KUBERNETES_VERSION } from '../../kube/src/go-build.ts';
import { ensureKubernetesCel } from '../../policy/src/kcel-build.ts';
import { qemuMissing, startLocalEngine, type RunningLocalEngine } from '../../engine/src/main.ts';
import { CelWorkers, celSchemas, type CelEvaluator } from '../../policy/src/index.ts';
import { ControlPlane, isAlive } from './controlplane/controlplane.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { startWebhooks, type RunningWebhooks } from '../../webhooks/src/main.ts';
import type { ClientAuth } from '../../webhooks/src/client-auth.ts';
import { startControllers, type RunningControllers } from '../../controllers/src/main.ts';
import { applyManifests, installCrds, kubeConfigFrom } from '../../kube/src/client.ts';
import { loadManifestDir } from '../../kube/src/manifests.ts';
import { ensurePluginBuilt } from './ui/build.ts';
import { startUiServer, type UiServer } from './ui/server.ts';

export interface SandboxOptions {
  /** Where the kubeconfig and the run record go; `.vmplane` in the repository by default. */
  stateDir?: string;
  examples?: boolean;
  /** Run VMs under QEMU with the local engine (when QEMU is installed); true by default. */
  engine?: boolean;
  /** Boot the Debian example VM, building its image on first use; true by default. */
  debian?: boolean;
  /** Serve the UI and print the newcomer's lines; true by default. */
  ui?: boolean;
  /** Called as soon as the sandbox can be stopped, with its signal handler. */
  onStopper?: (onSignal: (sig: NodeJS.Signals) => void) => void;
  log?: (line: string) => void;
}

/** Guest RAM the sandbox gives a VM at most, whatever its class asks: VMs stay small here. */
export const SANDBOX_GUEST_MEMORY = 512 * 2 ** 20;
/** The example VM that boots in the sandbox. */
export const DEMO_VM = { namespace: 'demo', name: 'tiny-1' };

interface RunRecord {
  pid: number;
  children: number[];
  tempDir: string;
}

/** The commands the sandbox puts into `.vmplane/bin`, by name, with the file each links to. */
export function sandboxBins(kubectl: string): Record<string, string> {
  return {
    kubectl,
    'kubectl-vm': join(REPO_ROOT, 'cli/bin/kubectl-vm.mjs'),
    vmplane: join(REPO_ROOT, 'cli/bin/vmplane.mjs'),
  };
}

/** How long Ctrl-C may take before whatever still runs is killed (the README promises seconds). */
export const STOP_BUDGET_MS = 3_500;
/** kube-apiserver's and etcd's grace after SIGTERM while the sandbox stops. */
const CONTROL_PLANE_GRACE_MS = 1_500;

export function stateDirFrom(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.VMPLANE_STATE_DIR ?? join(REPO_ROOT, '.vmplane'));
}

/** Lines that tell a newcomer what to try, with paths as they would type them. */
export function tryLines(kubeconfig: string, kubectlDir: string, cwd = process.cwd()): string[] {
  const rel = (p: string): string => {
    const r = relative(cwd, p);
    return r.startsWith('..') ? p : r;
  };
  return [
    'try:',
    `  export KUBECONFIG=${rel(kubeconfig)} PATH=${rel(kubectlDir)}:$PATH`,
    '  kubectl get vmplane -A                 # every vmplane object',
    '  kubectl get vmpvm -n demo              # VMs with class, image, power state',
    '  kubectl explain vmpvm.spec.className   # every field is documented',
    '  kubectl get vmclass                    # sizes on offer',
    '  kubectl vm list -n demo                # the kubectl vm plugin: VMs with their status',
    '  kubectl vm classes -n demo             # classes this namespace may use',
    '  kubectl apply -f examples/50-vms.yaml  # re-apply an example after editing it',
  ];
}

/** What to try with a VM that runs: its console, its power. */
export function vmLines(vm: { namespace: string; name: string }): string[] {
  const n = `${vm.name} -n ${vm.namespace}`;
  const line = (cmd: string, what: string): string => `  ${cmd}`.padEnd(41) + `# ${what}`;
  return [
    line(`kubectl vm console ${n}`, 'its serial console (Ctrl-] leaves)'),
    line(`kubectl vm pause ${n}`, 'pause, resume, stop, start, restart'),
  ];
}

/** The line for a machine without QEMU: what to install, and that the rest works anyway. */
export function noQemuLine(missing: string): string {
  return `VMs will not run here: ${missing} not found (sudo apt-get install qemu-system-x86 qemu-utils, or brew install qemu); everything else works`;
}

/**
 * A previous sandbox killed hard (kill -9 of the whole tree) can leave its record behind; its
 * processes die with it (setpriv --pdeathsig), but be sure and clean up what is left.
 */
function cleanStale(stateDir: string, log: (l: string) => void): void {
  const recordFile = join(stateDir, 'sandbox.json');
  if (!existsSync(recordFile)) return;
  let rec: RunRecord | undefined;
  try {
    rec = JSON.parse(readFileSync(recordFile, 'utf8')) as RunRecord;
  } catch {
    rec = undefined;
  }
  if (rec && isAlive(rec.pid) && rec.pid !== process.pid) {
    throw new Error(
      `another sandbox (pid ${rec.pid}) is running with state in ${stateDir}; stop it first (Ctrl-C in its terminal)`,
    );
  }
  if (rec) {
    for (const pid of rec.children) {
      if (isAlive(pid)) {
        log(`stopping process ${pid} left by an earlier sandbox`);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    if (rec.tempDir) rmSync(rec.tempDir, { recursive: true, force: true });
  }
  rmSync(join(stateDir, 'engine'), { recursive: true, force: true });
  rmSync(recordFile, { force: true });
}

/** kubectl, and vmplane's own commands, so that `kubectl vm ...` works after the printed export. */
function linkBins(binDir: string, kubectl: string): void {
  mkdirSync(binDir, { recursive: true });
  for (const [name, target] of Object.entries(sandboxBins(kubectl))) {
    const link = join(binDir, name);
    rmSync(link, { force: true });
    symlinkSync(target, link);
  }
}

/** The parts the sandbox runs in-process, each set once it started. */
export interface Parts {
  /** KubeVirt's own validating admission (virt-api's admitters) for kubevirt.io objects. */
  admission?: RunningAdmission;
  /** CDI's own DataVolume validation (cdi-apiserver's). */
  cdiAdmission?: RunningAdmission;
  /** The Kubernetes CEL engine, shared by the webhooks and the audit. */
  cel?: CelEvaluator;
  webhooks?: RunningWebhooks;
  controllers?: RunningControllers;
  engine?: RunningLocalEngine;
  /** Whether the engine's library holds the Debian image, so debian-1 can boot. */
  debianBoots?: boolean;
  /** What says, after ready, when debian-1 runs and its agent answers. */
  debianWatch?: { stop: () => void };
  ui?: UiServer;
}

/** The webhooks, the policy audit and the controllers, against the sandbox's API server. */
async function startParts(
  kc: KubeConfig,
  dirs: Parameters<typeof startAll>[3],
  parts: Parts,
  log: (l: string) => void,
): Promise<void> {
  const webhookLog = join(dirs.stateDir, 'webhooks.log');
  const fileLogger = (name: string, dest: string): pino.Logger =>
    pino({ name }, pino.destination({ dest, sync: false, mkdir: true }));
  const cel = await CelWorkers.start(dirs.celDir, { schemas: celSchemas(), size: 2 });
  parts.cel = cel;
  const webhooks = await startWebhooks({
    kc,
    namespace: 'vmplane-system',
    register: { endpoint: 'self' },
    logger: fileLogger('vmplane-webhooks', webhookLog),
    cel,
    // Admission reviews only from the sandbox's kube-apiserver (its webhook client certificate).
    clientAuth: dirs.clientAuth,
  });
  parts.webhooks = webhooks;
  log(`admission webhooks serving at ${webhooks.url} (decisions logged to ${webhookLog})`);
  const controllersLog = join(dirs.stateDir, 'controllers.log');
  parts.controllers = await startControllers({
    kc,
    logger: fileLogger('vmplane-controllers', controllersLog),
    // The audit shares the webhooks' cache and CEL engine: one copy of the cluster in memory.
    audit: { cache: webhooks.cache, cel, intervalMs: 60_000 },
    // Policies' rules that can run in the API server run there (VMPLANE_NATIVE_POLICIES=false: not).
    nativePolicies: process.env.VMPLANE_NATIVE_POLICIES !== 'false',
  });
  log(`controllers running: StorageProfiles, disks, VMs (log: ${controllersLog})`);
  log('policy audit running: results in PolicyReports (kubectl get policyreports -A)');
}

/**
 * The local engine, when QEMU is installed: VMs really boot (the tiny Linux) under software
 * emulation, with consoles and power actions through KubeVirt's subresource API.
 */
async function startEngine(
  kc: KubeConfig,
  stateDir: string,
  parts: Parts,
  o: { debian: boolean; log: (l: string) => void },
): Promise<void> {
  const { log } = o;
  const qemu = process.env.VMPLANE_QEMU || 'qemu-system-x86_64';
  const missing = qemuMissing(qemu);
  if (missing) {
    log(noQemuLine(missing));
    return;
  }
  const debianImage = await sandboxDebianImage(o.debian, log);
  parts.debianBoots = o.debian && !!debianImage;
  const dest = join(stateDir, 'engine.log');
  // The engine is the sandbox's extra: if it cannot start (no apt to build the image from, say),
  // the rest runs and the line says why.
  const engine = await startLocalEngine({
    kc,
    stateDir: join(stateDir, 'engine'),
    cacheDir: cacheRoot(),
    kubevirtVersion: `v${KUBEVIRT_VERSION}`,
    memoryCapBytes: SANDBOX_GUEST_MEMORY,
    provisioners: SANDBOX_PROVISIONERS,
    ...(debianImage ? { debianImage } : {}),
    maxGraceMs: 10_000,
    qemu,
    logger: pino({ name: 'vmplane-engine' }, pino.destination({ dest, sync: false, mkdir: true })),
    log,
  }).catch((e: Error) => {
    log(`VMs will not run here: the local engine did not start: ${e.message}`);
    return undefined;
  });
  if (!engine) return;
  parts.engine = engine;
  log(
    `local engine running: VMs boot under QEMU, at most ${SANDBOX_GUEST_MEMORY / 2 ** 20} MiB of guest memory each (log: ${dest})`,
  );
}

/**
 * KubeVirt's and CDI's own admission, the parts and the engine. What KubeVirt or CDI refuses (a
 * VMI without memory, a malformed MAC address, a DataVolume with two sources...) is refused here
 * too, with its causes. The admission starts (seconds: KubeVirt's packages load slowly) while the
 * rest does, and is registered before any VM exists: the parts write kubevirt.io and cdi.kubevirt.io
 * objects only for VMs and disks, and the examples bring the first ones.
 */
async function startAll(
  kc: KubeConfig,
  kubeconfigPath: string,
  conformance: { kubevirt: string; cdi: string },
  dirs: { stateDir: string; celDir: string; clientAuth: ClientAuth },
  parts: Parts,
  opts: SandboxOptions,
  log: (l: string) => void,
): Promise<void> {
  const admission = Promise.all([
    startKubeVirtAdmission({ bin: conformance.kubevirt, kubeconfigPath, log }).then(
      (a) => (parts.admission = a),
    ),
    startCdiAdmission({ bin: conformance.cdi, kubeconfigPath, log }).then(
      (a) => (parts.cdiAdmission = a),
    ),
  ]);
  try {
    await startParts(kc, dirs, parts, log);
    if (opts.engine ?? true)
      await startEngine(kc, dirs.stateDir, parts, { debian: opts.debian ?? true, log });
    else log('local engine off (--no-engine): VMs report KubeVirtNotDeployed');
  } finally {
    // Settled before anything else happens, so that a failed start stops it too.
    await admission.catch(() => undefined);
  }
  await admission;
}

/** The Headlamp plugin, served with Headlamp's shell and a proxy to this API server. */
async function startUi(kubeconfig: string, log: (l: string) => void): Promise<UiServer> {
  const built = ensurePluginBuilt(log);
  const uiOptions = { kubeconfig, clusterName: 'sandbox', ...built };
  const port = Number(process.env.VMPLANE_UI_PORT ?? 4466);
  return startUiServer({ ...uiOptions, port }).catch(() =>
    startUiServer({ ...uiOptions, port: 0 }),
  );
}

/**
 * Stopping is bounded: the parts stop together, the control plane gets a short grace, and
 * whatever still runs after STOP_BUDGET_MS is killed, so Ctrl-C takes seconds whatever the
 * sandbox is doing (starting, reconciling, serving a watch or a console). A second signal kills
 * at once.
 */
function stopper(
  cp: ControlPlane,
  parts: Parts,
  removeFiles: () => void,
  log: (l: string) => void,
): { stop(why: string): Promise<void>; onSignal(sig: NodeJS.Signals): void } {
  let stopping: Promise<void> | undefined;
  const stop = (why: string): Promise<void> => {
    if (stopping) return stopping;
    log(`\n${why}: stopping the sandbox`);
    const { ui, controllers, webhooks, engine } = parts;
    parts.debianWatch?.stop();
    const graceful = Promise.allSettled([
      ui?.close(),
      controllers?.stop(),
      webhooks?.stop(),
      engine?.stop(),
    ])
      // After the engine: its last writes (VM finalizers, statuses) still get KubeVirt's verdict.
      .then(() => Promise.allSettled([parts.admission?.stop(), parts.cdiAdmission?.stop()]))
      .then(() => parts.cel?.close())
      .then(() => cp.stop(CONTROL_PLANE_GRACE_MS));
    const late = new Promise<'late'>((r) => setTimeout(() => r('late'), STOP_BUDGET_MS).unref());
    stopping = Promise.race([graceful, late]).then((r) => {
      if (r === 'late')
        log(`still stopping after ${STOP_BUDGET_MS / 1000} s: killing what is left`);
      parts.admission?.kill();
      parts.cdiAdmission?.kill();
      cp.abort();
      removeFiles();
      log('sandbox stopped');
    });
    return stopping;
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) {
      cp.abort();
      removeFiles();
      process.exit(130);
    }
    void stop(sig).then(() => process.exit(0));
  };
  return { stop, onSignal };
}

/** vmplane's CRDs, and KubeVirt's and CDI's real ones (from their own generators, at the releases
 * vmplane is checked with): the APIs the local engine serves. */
async function installSandboxCrds(
  kc: KubeConfig,
  crdDirs: { kubevirt: string; cdi: string },
  log: (l: string) => void,
): Promise<void> {
  const crds = await installCrds(kc, join(REPO_ROOT, 'charts/vmplane/crds'));
  log(`installed ${crds.length} vmplane CRDs`);
  const engine = await installEngineApis(kc, crdDirs);
  log(
    `installed ${engine.kubevirt} KubeVirt v${KUBEVIRT_VERSION} and ${engine.cdi} CDI v${CDI_VERSION} CRDs`,
  );
}

/** What a newcomer needs to start: where things are, what to try, and the VM that runs. */
async function announce(
  at: { kc: KubeConfig; kubeconfigPath: string; binDir: string; server: string; ui: UiServer },
  demoVm: boolean,
  log: (l: string) => void,
): Promise<void> {
  log('');
  // The address carries this start's token: the UI server admits only pages that bring it.
  log(`UI (the Headlamp plugin): ${at.ui.urlWithToken('/c/sandbox/vmplane/vms')}`);
  log(`kubeconfig: ${at.kubeconfigPath}`);
  log(`API server: ${at.server}`);
  for (const l of tryLines(at.kubeconfigPath, at.binDir)) log(l);
  if (demoVm) {
    log('');
    await reportDemoVm(at.kc, DEMO_VM, log);
    for (const l of vmLines(DEMO_VM)) log(l);
  }
  log('');
}

/** A started sandbox, for `npm start` and for tests that run it in-process. */
export interface Sandbox {
  kubeconfigPath: string;
  server: string;
  parts: Parts;
  stop(why: string): Promise<void>;
  onSignal(sig: NodeJS.Signals): void;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const started = Date.now();
  const log = opts.log ?? ((l: string) => console.log(l));
  const stateDir = opts.stateDir ?? stateDirFrom();
  mkdirSync(stateDir, { recursive: true });
  cleanStale(stateDir, log);

  log('vmplane sandbox: starting');
  const binaries = await ensureBinaries((l) => log(l));
  const celDir = await ensureKubernetesCel((l) => log(l));
  const conformance = await ensureConformance((l) => log(l));
  const binDir = join(stateDir, 'bin');
  linkBins(binDir, binaries.kubectl);

  const kubeconfigPath = join(stateDir, 'kubeconfig');
  const cp = new ControlPlane({ binaries, kubeconfigPath, tempPrefix: 'vmplane-sandbox-', log });
  const parts: Parts = {};
  const removeFiles = (): void => {
    rmSync(kubeconfigPath, { force: true });
    // The VMs' disks and sockets: the cluster that knew them is gone with etcd's temp folder.
    rmSync(join(stateDir, 'engine'), { recursive: true, force: true });
    rmSync(join(stateDir, 'sandbox.json'), { force: true });
  };
  const { stop, onSignal } = stopper(cp, parts, removeFiles, log);
  opts.onStopper?.(onSignal);
  try {
    log(
      `starting etcd and kube-apiserver v${KUBERNETES_VERSION} (binaries from ${binaries.source})`,
    );
    const ep = await cp.start();
    const record: RunRecord = { pid: process.pid, children: cp.pids, tempDir: cp.tempDir };
    writeFileSync(join(stateDir, 'sandbox.json'), JSON.stringify(record));
    const kc = kubeConfigFrom(ep.kubeconfigPath);
    await installSandboxCrds(kc, conformance.crdDirs, log);
    await startAll(
      kc,
      ep.kubeconfigPath,
      conformance,
      { stateDir, celDir, clientAuth: ep.webhookClient },
      parts,
      opts,
      log,
    );
    if (opts.examples ?? true) {
      const examples = loadManifestDir(join(REPO_ROOT, 'examples'));
      await applyManifests(
        kc,
        sandboxExamples(
          examples.map((e) => e.object),
          !!parts.debianBoots,
        ),
      );
      log(`applied ${examples.length} objects from examples/`);
    }
    if (parts.debianBoots && (opts.examples ?? true)) parts.debianWatch = watchDebianVm(kc, log);
    if (opts.ui ?? true) {
      parts.ui = await startUi(kubeconfigPath, log);
      await announce(
        { kc, kubeconfigPath, binDir, server: ep.server, ui: parts.ui },
        !!parts.engine && (opts.examples ?? true),
        log,
      );
    }
    log(
      `vmplane sandbox ready in ${((Date.now() - started) / 1000).toFixed(1)} s (Ctrl-C stops it)`,
    );
    return { kubeconfigPath, server: ep.server, parts, stop, onSignal };
  } catch (e) {
    await stop('start-up failed');
    throw e;
  }
}

/** `npm start`: the sandbox until a signal stops it. */
export async function runSandbox(opts: SandboxOptions = {}): Promise<void> {
  // Signals are handled from the very start, so Ctrl-C during start-up stops what started.
  let handler: ((sig: NodeJS.Signals) => void) | undefined;
  const early = (sig: NodeJS.Signals): void => (handler ? handler(sig) : process.exit(130));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, early);
  await startSandbox({ ...opts, onStopper: (h) => (handler = h) });
  // Keep running until a signal arrives.
  await new Promise<never>(() => {});
}
