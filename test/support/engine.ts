// The local engine on the test control plane, scoped to one namespace: KubeVirt's CRDs, the
// engine's controller with the tiny Linux and its library (served over loopback HTTP), CDI's part
// and a storage provisioner of the namespace's own, and what tests ask of it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import {
  localEngine,
  type LocalEngine,
  type LocalEngineOptions,
} from '../../engine/src/controller.ts';
import {
  cdiController,
  storageProfileController,
  type LibraryImageEntry,
} from '../../engine/src/cdi/index.ts';
import { startLibraryServer, type LibraryServer } from '../../engine/src/library/server.ts';
import { libraryImages, TINY_LINUX_URL, tinyLinuxLibrary } from '../../engine/src/main.ts';
import type { TinyLinux } from '../../engine/src/tiny-linux.ts';
import { ensureTinyLinux } from '../../engine/src/tiny-linux.ts';
import { waitUntil } from '../../kube/src/client.ts';
import { cacheRoot } from '../../kube/src/go-build.ts';
import { Manager } from '../../kube/src/manager.ts';
import { getLive } from '../../kube/src/ownership.ts';
import { KubeRest } from '../../kube/src/rest.ts';
import { createCertificateAuthority, issueCertificate } from '../../kube/src/pki.ts';
import {
  ENGINE_NAMESPACE,
  ENGINE_SERVICE,
  frontProxyAuth,
  registerSubresourceApi,
  startSubresourceServer,
  waitForAvailable,
  type SubresourceServer,
} from '../../engine/src/api-server.ts';
import { KUBEVIRT_VERSION } from '../../harness/src/controlplane/conformance.ts';
import { createNamespace, kubeConfig } from './cluster.ts';
import { installEngineCrds } from './kubevirt.ts';

export type Obj = {
  metadata: { uid?: string; name?: string };
  spec: Record<string, unknown>;
  status?: Record<string, any>;
};

export interface TestEngine {
  ns: string;
  /** The namespace's own StorageClass (Immediate, expandable), provisioned by this engine. */
  storageClass: string;
  rest: KubeRest;
  engine: LocalEngine;
  stateDir: string;
  get(path: string): Promise<Obj | undefined>;
  vmPath(name: string): string;
  vmiPath(name: string): string;
  /** Waits (90 s at most) until the probe gives something. */
  until<T>(what: string, probe: () => Promise<T | undefined | false>): Promise<T>;
  stop(): Promise<void>;
}

/** What the machine can give VMs, as the engine is told: tests may change it. */
export const machine = { availableBytes: 8 * 2 ** 30 };

/** `extra`: engine options a test adds (the provisioners it plays, say). */
export async function startTestEngine(
  prefix: string,
  extra: Partial<LocalEngineOptions> = {},
): Promise<TestEngine> {
  const rest = new KubeRest(kubeConfig());
  await installEngineCrds(kubeConfig());
  const ns = await createNamespace(prefix);
  const stateDir = mkdtempSync(
    join(tmpdir(), `vmplane-test-${process.env.VMPLANE_RUN_ID ?? 'local'}-${prefix}-`),
  );
  const image = await ensureTinyLinux(cacheRoot(), () => undefined);
  const manager = new Manager({
    kc: kubeConfig(),
    logger: pino({ level: 'silent' }),
    scope: (o) => o.metadata?.namespace === ns,
  });
  const storage = await startTestStorage(rest, { ns, stateDir, image });
  const engine = localEngine(manager, {
    stateDir,
    image,
    library: [tinyLinuxLibrary(image)],
    memoryCapBytes: 256 * 2 ** 20,
    memoryBudgetBytes: () => machine.availableBytes,
    maxGraceMs: 1_000,
    unschedulableRetryMs: 500,
    ...extra,
    provisioners: [storage.provisioner, ...(extra.provisioners ?? [])],
  });
  manager.add(engine.definition);
  storage.add(manager, extra.provisioners ?? []);
  await manager.start();
  return {
    ns,
    storageClass: storage.storageClass,
    rest,
    engine,
    stateDir,
    get: (path) => getLive<Obj>(rest, path),
    vmPath: (name) => `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachines/${name}`,
    vmiPath: (name) => `/apis/kubevirt.io/v1/namespaces/${ns}/virtualmachineinstances/${name}`,
    until: (what, probe) =>
      waitUntil(what, probe as () => Promise<never>, 90_000, 200) as Promise<never>,
    async stop() {
      await manager.stop();
      await engine.stopAll();
      await storage.stop();
      rest.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** A kubevirt.io/v1 VirtualMachine for the tests: small, with the spec's template parts given. */
export function kubevirtVm(
  ns: string,
  name: string,
  spec: { runStrategy?: string; dataVolumeTemplates?: object[] },
  template: Record<string, unknown>,
  domain: Record<string, unknown> = {},
): object {
  const { devices = {}, ...rest } = domain;
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: ns },
    spec: {
      runStrategy: 'Always',
      ...spec,
      template: {
        spec: {
          domain: { devices, memory: { guest: '128Mi' }, ...rest },
          terminationGracePeriodSeconds: 0,
          ...template,
        },
      },
    },
  };
}

/** A DataVolume template from the library's tiny Linux image, on the given StorageClass. */
export function tinyDataVolume(name: string, storageClassName: string): object {
  return {
    metadata: { name },
    spec: {
      source: { http: { url: TINY_LINUX_URL } },
      storage: { storageClassName, resources: { requests: { storage: '64Mi' } } },
    },
  };
}

export interface TestStorage {
  provisioner: string;
  storageClass: string;
  library: LibraryServer;
  /** Adds CDI's part and the class's CDI StorageProfile to the engine's manager. */
  add(manager: Manager, moreProvisioners?: string[]): void;
  stop(): Promise<void>;
}

/**
 * Storage for one test namespace's engine: a StorageClass and a provisioner name of its own (so
 * engines of other test files never provision its claims), the library served over loopback HTTP
 * (the tiny Linux, and `images` if given), and CDI's part filling DataVolumes from it.
 */
export async function startTestStorage(
  rest: KubeRest,
  o: { ns: string; stateDir: string; image: TinyLinux; images?: LibraryImageEntry[] },
): Promise<TestStorage> {
  const provisioner = `${o.ns}.test.local-engine.vmplane.io`;
  const storageClass = `${o.ns}-disks`;
  const images = [...(await libraryImages(o.image)), ...(o.images ?? [])];
  const library = await startLibraryServer({ images });
  await rest.create({
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: storageClass },
    provisioner,
    reclaimPolicy: 'Delete',
    allowVolumeExpansion: true,
    volumeBindingMode: 'Immediate',
  } as never);
  return {
    provisioner,
    storageClass,
    library,
    add(manager, more = []) {
      const played = [provisioner, ...more];
      const cdi = cdiController(manager, {
        stateDir: o.stateDir,
        library: { endpoint: library, images },
        provisioners: played,
      });
      manager.add(cdi.definition);
      manager.add(storageProfileController(manager, played, (n) => n === storageClass));
    },
    async stop() {
      await library.close();
      for (const path of [
        `/apis/storage.k8s.io/v1/storageclasses/${storageClass}`,
        `/apis/cdi.kubevirt.io/v1beta1/storageprofiles/${storageClass}`,
      ])
        await rest.request('DELETE', path).catch(() => undefined);
    },
  };
}

/**
 * KubeVirt's subresource API in front of a test's engine, as engine/src/main.ts sets it up: an
 * aggregated API with a serving certificate of its own, registered and Available on return.
 */
export async function serveSubresources(
  rest: KubeRest,
  engine: LocalEngine,
  name: string,
): Promise<SubresourceServer> {
  const ca = createCertificateAuthority(`${name}-test-engine-ca`, 1);
  const serving = issueCertificate(ca, {
    commonName: ENGINE_SERVICE,
    dnsNames: [`${ENGINE_SERVICE}.${ENGINE_NAMESPACE}.svc`, 'localhost'],
    ipAddresses: ['127.0.0.1'],
    usages: ['server'],
    validityDays: 1,
  });
  const server = await startSubresourceServer({
    rest,
    engine,
    serving,
    auth: await frontProxyAuth(rest),
    log: () => undefined,
    kubevirtVersion: `v${KUBEVIRT_VERSION}`,
  });
  await registerSubresourceApi(rest, server.port, ca.certPem);
  await waitForAvailable(rest);
  return server;
}

/** A NetworkAttachmentDefinition of the bridge CNI (vmplane's copy of Multus's CRD). */
export async function bridgeNad(t: TestEngine, name: string, bridge: string): Promise<void> {
  await t.rest.create({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: { name, namespace: t.ns },
    spec: {
      config: JSON.stringify({ cniVersion: '0.3.1', name, type: 'bridge', bridge, ipam: {} }),
    },
  } as never);
}
