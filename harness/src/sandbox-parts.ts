// The sandbox after its control plane: CRDs, KubeVirt's and CDI's admission, the CEL engine,
// vmplane's webhooks and controllers, the local engine, the examples and the UI, each started as
// soon as what it needs is there. sandbox.ts loads this module while the control plane starts:
// what it imports (@kubernetes/client-node above all) takes seconds to load.
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { REPO_ROOT } from '../../api/src/paths.ts';
import { applyCrds, applyManifests, kubeConfigFrom } from '../../kube/src/client.ts';
import { loadManifestDir } from '../../kube/src/manifests.ts';
import { cacheRoot } from '../../kube/src/go-build.ts';
import { CelWorkers, celSchemas, type CelEvaluator } from '../../policy/src/index.ts';
import { qemuMissing, startLocalEngine, type RunningLocalEngine } from '../../engine/src/main.ts';
import type { DebianImage } from '../../engine/src/images/debian.ts';
import { startWebhooks, type RunningWebhooks } from '../../webhooks/src/main.ts';
import type { ClientAuth } from '../../webhooks/src/client-auth.ts';
import { startControllers, type RunningControllers } from '../../controllers/src/main.ts';
import {
  CDI_VERSION,
  KUBEVIRT_VERSION,
  type ConformanceBinaries,
} from './controlplane/conformance.ts';
import type { ControlPlaneEndpoints } from './controlplane/controlplane.ts';
import { createCdiConfig, engineCrds } from './controlplane/engine-apis.ts';
import {
  spawnCdiAdmission,
  spawnKubeVirtAdmission,
  type RunningAdmission,
  type SpawnedAdmission,
} from './controlplane/kubevirt-admission.ts';
import { DEMO_VM, noQemuLine, SANDBOX_GUEST_MEMORY, tryLines, vmLines } from './sandbox-lines.ts';
import type { StartupProfile } from './sandbox-profile.ts';
import {
  reportDemoVm,
  SANDBOX_PROVISIONERS,
  sandboxDebianImage,
  sandboxExamples,
  sandboxSshKey,
  watchDebianVm,
} from './sandbox-vms.ts';
import { ensurePluginBuilt } from './ui/build.ts';
import { startUiServer, type UiServer } from './ui/server.ts';

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

export interface PartsContext {
  /** The control plane, starting: resolves once kube-apiserver is ready. */
  controlPlane: Promise<ControlPlaneEndpoints>;
  /** Resolves once the admin kubeconfig is written (as kube-apiserver starts). */
  kubeconfigWritten: Promise<string>;
  celDir: string;
  conformance: ConformanceBinaries;
  stateDir: string;
  binDir: string;
  kubeconfigPath: string;
  parts: Parts;
  opts: { examples: boolean; engine: boolean; debian: boolean; ui: boolean };
  prof: StartupProfile;
  log: (l: string) => void;
  /** Every part being started, settled or not: a failed start waits for them before stopping. */
  pending: Promise<unknown>[];
}

const fileLogger = (name: string, dest: string): pino.Logger =>
  pino({ name }, pino.destination({ dest, sync: false, mkdir: true }));

/** vmplane's CRDs and KubeVirt's and CDI's real ones, in one batch; then CDI's CDIConfig. */
async function installSandboxCrds(
  kc: KubeConfig,
  crdDirs: { kubevirt: string; cdi: string },
  log: (l: string) => void,
): Promise<void> {
  const vmplane = loadManifestDir(join(REPO_ROOT, 'charts/vmplane/crds')).map((m) => m.object);
  const engine = engineCrds(crdDirs);
  // CDI's before KubeVirt's: KubeVirt's admission, already started, looks for CDI's DataSource
  // API once, when it first reads KubeVirt's own objects.
  await applyCrds(kc, [[...vmplane, ...engine.cdi], engine.kubevirt]);
  await createCdiConfig(kc);
  log(
    `installed ${vmplane.length} vmplane CRDs, ${engine.kubevirt.length} KubeVirt v${KUBEVIRT_VERSION} and ${engine.cdi.length} CDI v${CDI_VERSION} CRDs`,
  );
}

/** The webhooks (with the CEL engine once it started) and then the controllers. */
async function startVmplane(
  kc: KubeConfig,
  c: PartsContext,
  cel: Promise<CelEvaluator>,
  clientAuth: ClientAuth,
): Promise<{ controllers: Promise<RunningControllers> }> {
  const { parts, prof, log, stateDir } = c;
  const webhookLog = join(stateDir, 'webhooks.log');
  const webhooks = await prof.step('webhooks', async () =>
    startWebhooks({
      kc,
      namespace: 'vmplane-system',
      register: { endpoint: 'self' },
      logger: fileLogger('vmplane-webhooks', webhookLog),
      cel: await cel,
      // Admission reviews only from the sandbox's kube-apiserver (its webhook client certificate).
      clientAuth,
    }),
  );
  parts.webhooks = webhooks;
  log(`admission webhooks serving at ${webhooks.url} (decisions logged to ${webhookLog})`);
  const controllersLog = join(stateDir, 'controllers.log');
  const controllers = prof
    .step('controllers', async () =>
      startControllers({
        kc,
        logger: fileLogger('vmplane-controllers', controllersLog),
        // The audit shares the webhooks' cache and CEL engine: one copy of the cluster in memory.
        audit: { cache: webhooks.cache, cel: await cel, intervalMs: 60_000 },
        // Policies' rules that can run in the API server run there (VMPLANE_NATIVE_POLICIES=false: not).
        nativePolicies: process.env.VMPLANE_NATIVE_POLICIES !== 'false',
      }),
    )
    .then((controllers) => {
      parts.controllers = controllers;
      log(`controllers running: StorageProfiles, disks, VMs (log: ${controllersLog})`);
      log('policy audit running: results in PolicyReports (kubectl get policyreports -A)');
      return controllers;
    });
  return { controllers };
}

/**
 * KubeVirt's and CDI's own admission processes, started as soon as the kubeconfig is written
 * (KubeVirt's takes seconds of CPU to load); `register` once the CRDs are installed.
 */
function spawnAdmissions(
  c: PartsContext,
  kubeconfigPath: string,
): { register(): Promise<unknown>; kill(): void } {
  const { conformance, parts, prof, log } = c;
  const started = prof.now();
  const kubevirt = spawnKubeVirtAdmission({ bin: conformance.kubevirt, kubeconfigPath, log });
  const cdi = spawnCdiAdmission({ bin: conformance.cdi, kubeconfigPath, log });
  const step = (name: string, s: SpawnedAdmission): Promise<RunningAdmission> =>
    s.register().finally(() => prof.mark(name, started));
  return {
    register: () =>
      Promise.all([
        step('KubeVirt admission', kubevirt).then((a) => (parts.admission = a)),
        step('CDI admission', cdi).then((a) => (parts.cdiAdmission = a)),
      ]),
    kill: () => {
      if (!parts.admission) kubevirt.kill();
      if (!parts.cdiAdmission) cdi.kill();
    },
  };
}

/** The QEMU command, or undefined (said in a line) where it is missing. */
function qemuCommand(log: (l: string) => void): string | undefined {
  const qemu = process.env.VMPLANE_QEMU || 'qemu-system-x86_64';
  const missing = qemuMissing(qemu);
  if (missing) log(noQemuLine(missing));
  return missing ? undefined : qemu;
}

/**
 * The local engine, when QEMU is installed: VMs really boot (the tiny Linux) under software
 * emulation, with consoles and power actions through KubeVirt's subresource API.
 */
async function startEngine(
  kc: KubeConfig,
  c: PartsContext,
  qemu: string,
  debianImage: DebianImage | undefined,
): Promise<void> {
  const { log, parts } = c;
  const dest = join(c.stateDir, 'engine.log');
  // The engine is the sandbox's extra: if it cannot start (no apt to build the image from, say),
  // the rest runs and the line says why.
  const engine = await startLocalEngine({
    kc,
    stateDir: join(c.stateDir, 'engine'),
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

/** The Headlamp plugin, served with Headlamp's shell and a proxy to this API server. */
async function startUi(kubeconfig: string, log: (l: string) => void): Promise<UiServer> {
  const built = ensurePluginBuilt(log);
  const uiOptions = { kubeconfig, clusterName: 'sandbox', ...built };
  const port = Number(process.env.VMPLANE_UI_PORT ?? 4466);
  return startUiServer({ ...uiOptions, port }).catch(() =>
    startUiServer({ ...uiOptions, port: 0 }),
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

/**
 * Everything after the control plane, each part as soon as what it needs is there: the CEL
 * workers and the Debian image at once; the UI once kube-apiserver answers; KubeVirt's and CDI's
 * admission, the local engine and the webhooks once the CRDs are Established; the controllers
 * after the webhooks (they share their cache); the examples once every admission that checks them
 * is registered. Resolves when the sandbox is ready.
 */
export async function startParts(c: PartsContext): Promise<void> {
  const { parts, prof, log, opts } = c;
  const track = <T>(p: Promise<T>): Promise<T> => {
    c.pending.push(p.catch(() => undefined));
    return p;
  };
  const cel = track(
    prof.step('CEL workers', () => CelWorkers.start(c.celDir, { schemas: celSchemas(), size: 2 })),
  ).then((w) => (parts.cel = w));
  const qemu = opts.engine ? qemuCommand(log) : undefined;
  const debian = track(
    (qemu
      ? sandboxDebianImage(opts.debian, log)
      : Promise.resolve<DebianImage | undefined>(undefined)
    ).then((image) => {
      parts.debianBoots = opts.debian && !!image;
      return image;
    }),
  );
  const admissions = spawnAdmissions(c, await c.kubeconfigWritten);
  try {
    await startRest(c, { track, cel, qemu, debian, admissions });
  } catch (e) {
    admissions.kill();
    throw e;
  }
}

/** From kube-apiserver ready to the sandbox ready (see startParts). */
async function startRest(
  c: PartsContext,
  early: {
    track: <T>(p: Promise<T>) => Promise<T>;
    cel: Promise<CelEvaluator>;
    qemu: string | undefined;
    debian: Promise<DebianImage | undefined>;
    admissions: { register(): Promise<unknown> };
  },
): Promise<void> {
  const { parts, prof, log, opts } = c;
  const { track, qemu, debian } = early;
  const ep = await c.controlPlane;
  const kc = kubeConfigFrom(ep.kubeconfigPath);
  const ui = opts.ui
    ? track(prof.step('UI', () => startUi(c.kubeconfigPath, log))).then((u) => (parts.ui = u))
    : undefined;
  await prof.step('CRDs', () => installSandboxCrds(kc, c.conformance.crdDirs, log));
  const admission = track(early.admissions.register());
  const engine = qemu
    ? track(debian.then((image) => prof.step('engine', () => startEngine(kc, c, qemu, image))))
    : undefined;
  if (!opts.engine) log('local engine off (--no-engine): VMs report KubeVirtNotDeployed');
  const { controllers } = await startVmplane(kc, c, track(early.cel), ep.webhookClient);
  track(controllers);
  await Promise.all([admission, debian]);
  if (opts.examples) {
    const examples = loadManifestDir(join(REPO_ROOT, 'examples'));
    const sshKey = await sandboxSshKey(c.stateDir, log);
    await prof.step('examples', () =>
      applyManifests(
        kc,
        sandboxExamples(
          examples.map((e) => e.object),
          !!parts.debianBoots,
          sshKey,
        ),
      ),
    );
    log(`applied ${examples.length} objects from examples/`);
  }
  await Promise.all([controllers, engine]);
  if (parts.debianBoots && opts.examples) parts.debianWatch = watchDebianVm(kc, log);
  if (ui) {
    const server = await ui;
    await prof.step('announce', () =>
      announce(
        { kc, kubeconfigPath: c.kubeconfigPath, binDir: c.binDir, server: ep.server, ui: server },
        !!parts.engine && opts.examples,
        log,
      ),
    );
  }
}
