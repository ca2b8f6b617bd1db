// `npm start`: a local vmplane with no cluster needed. A real etcd and kube-apiserver, the vmplane
// CRDs, the examples applied; a kubeconfig at a stable path in the repository. SIGINT/SIGTERM
// stops everything it started.
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { KUBERNETES_VERSION } from '../../kube/src/go-build.ts';
import { ensureKubernetesCel } from '../../policy/src/kcel-build.ts';
import { ensureBinaries } from './controlplane/binaries.ts';
import { ensureConformance } from './controlplane/conformance.ts';
import { ControlPlane, isAlive } from './controlplane/controlplane.ts';
import type { Parts } from './sandbox-parts.ts';
import { profileLines, StartupProfile } from './sandbox-profile.ts';

export { DEMO_VM, noQemuLine, SANDBOX_GUEST_MEMORY, tryLines, vmLines } from './sandbox-lines.ts';
export type { Parts } from './sandbox-parts.ts';

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
  const prof = new StartupProfile();
  prof.mark('node, tsx, first modules', 0);
  const log = opts.log ?? ((l: string) => console.log(l));
  const stateDir = opts.stateDir ?? stateDirFrom();
  mkdirSync(stateDir, { recursive: true });
  cleanStale(stateDir, log);

  log('vmplane sandbox: starting');
  const binaries = await prof.step('binaries', () => ensureBinaries((l) => log(l)));
  const celDir = await prof.step('CEL build', () => ensureKubernetesCel((l) => log(l)));
  const conformance = await prof.step('conformance build', () => ensureConformance((l) => log(l)));
  const binDir = join(stateDir, 'bin');
  linkBins(binDir, binaries.kubectl);

  const kubeconfigPath = join(stateDir, 'kubeconfig');
  let onKubeconfig: (path: string) => void = () => {};
  const kubeconfigWritten = new Promise<string>((r) => (onKubeconfig = r));
  const cp = new ControlPlane({
    binaries,
    kubeconfigPath,
    tempPrefix: 'vmplane-sandbox-',
    log,
    step: (n, f) => prof.step(n, f),
    onKubeconfig: (p) => onKubeconfig(p),
  });
  const parts: Parts = {};
  const removeFiles = (): void => {
    rmSync(kubeconfigPath, { force: true });
    // The VMs' disks and sockets: the cluster that knew them is gone with etcd's temp folder.
    rmSync(join(stateDir, 'engine'), { recursive: true, force: true });
    rmSync(join(stateDir, 'sandbox.json'), { force: true });
  };
  const { stop, onSignal } = stopper(cp, parts, removeFiles, log);
  opts.onStopper?.(onSignal);
  const pending: Promise<unknown>[] = [];
  try {
    log(
      `starting etcd and kube-apiserver v${KUBERNETES_VERSION} (binaries from ${binaries.source})`,
    );
    const controlPlane = prof
      .step('control plane', () => cp.start())
      .then((ep) => {
        const record: RunRecord = { pid: process.pid, children: cp.pids, tempDir: cp.tempDir };
        writeFileSync(join(stateDir, 'sandbox.json'), JSON.stringify(record));
        return ep;
      });
    pending.push(controlPlane.catch(() => undefined));
    // The rest of the sandbox's code loads while etcd and kube-apiserver start.
    const { startParts } = await prof.step('modules', () => import('./sandbox-parts.ts'));
    await startParts({
      controlPlane,
      // A control plane that fails before writing it fails this too.
      kubeconfigWritten: Promise.race([
        kubeconfigWritten,
        controlPlane.then((ep) => ep.kubeconfigPath),
      ]),
      celDir,
      conformance,
      stateDir,
      binDir,
      kubeconfigPath,
      parts,
      opts: {
        examples: opts.examples ?? true,
        engine: opts.engine ?? true,
        debian: opts.debian ?? true,
        ui: opts.ui ?? true,
      },
      prof,
      log,
      pending,
    });
    if (process.env.VMPLANE_STARTUP_PROFILE) for (const l of profileLines(prof.steps)) log(l);
    log(
      `vmplane sandbox ready in ${((Date.now() - started) / 1000).toFixed(1)} s (Ctrl-C stops it)`,
    );
    return { kubeconfigPath, server: (await controlPlane).server, parts, stop, onSignal };
  } catch (e) {
    // Whatever was starting settles first, so that stopping stops it too.
    await Promise.all(pending);
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
