// The local engine as one piece: the controller that runs guests under QEMU, the aggregated
// subresource API in front of it, and a KubeVirt CR that says an engine is deployed (made only
// when the cluster has none: an installed KubeVirt is never touched). The sandbox starts it when
// QEMU is installed; tests start it on their own control plane.
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import pino from 'pino';
import { Manager } from '../../kube/src/manager.ts';
import { createCertificateAuthority, issueCertificate } from '../../kube/src/pki.ts';
import { isNotFound, KubeRest } from '../../kube/src/rest.ts';
import {
  ENGINE_NAMESPACE,
  ENGINE_SERVICE,
  frontProxyAuth,
  MANAGED_BY,
  registerSubresourceApi,
  startSubresourceServer,
  unregisterSubresourceApi,
  waitForAvailable,
} from './api-server.ts';
import {
  cdiController,
  ensureCdiCr,
  ensureConfigOverhead,
  removeCdiCr,
  storageProfileController,
  type LibraryImageEntry,
} from './cdi/index.ts';
import type { NodeNetwork } from './network/node-network.ts';
import { TWO_NODES, type EngineNode } from './engine-context.ts';
import { startNodeNetwork } from './network/start.ts';
import { servicesController } from './services/loop.ts';
import { networkPolicyController } from './netpol/loop.ts';
import { localEngine, type LocalEngine } from './controller.ts';
import { ensureQcow2 } from './library/qcow2.ts';
import { startLibraryServer, type LibraryServer } from './library/server.ts';
import { ensureTinyLinux, type TinyLinux } from './tiny-linux.ts';
import type { LibraryImage } from './volumes.ts';
import { DEBIAN_IMAGE_NAME } from './images/debian-recipe.ts';
import type { DebianImage } from './images/debian.ts';

/** The URL by which images in the library ask for the tiny Linux (an .invalid name: it is never fetched). */
export const TINY_LINUX_URL = 'http://images.local-engine.invalid/tiny-linux.qcow2';

/** What is missing for the local engine, or undefined when QEMU is installed. */
export function qemuMissing(qemu = 'qemu-system-x86_64', qemuImg = 'qemu-img'): string | undefined {
  const missing = [qemu, qemuImg].filter(
    (b) => spawnSync(b, ['--version'], { stdio: 'ignore' }).status !== 0,
  );
  return missing.length ? missing.join(' and ') : undefined;
}

/** The library's tiny Linux: a disk made from it holds the image and boots its kernel. */
export function tinyLinuxLibrary(image: TinyLinux): LibraryImage {
  return {
    name: 'tiny-linux',
    url: TINY_LINUX_URL,
    path: image.disk,
    format: 'raw',
    kernelBoot: {
      kernel: image.kernel,
      initrd: image.initrd,
      append: 'console=tty0 console=ttyS0 panic=-1',
    },
  };
}

/**
 * The images the library serves over HTTP (adding one is one entry here): the tiny Linux as qcow2,
 * so that an import converts it (qcow2 to raw) as CDI's importer does, and the Debian 12 image
 * when it was built (a real bootable disk: BIOS, syslinux, its own kernel).
 */
export async function libraryImages(
  image: TinyLinux,
  qemuImg?: string,
  debian?: DebianImage,
): Promise<LibraryImageEntry[]> {
  return [
    {
      name: 'tiny-linux',
      path: await ensureQcow2(image.disk, qemuImg),
      format: 'qcow2',
      kernelBoot: true,
    },
    ...(debian ? [{ name: DEBIAN_IMAGE_NAME, path: debian.qcow2, format: 'qcow2' as const }] : []),
  ];
}

/** The CDI release whose DataVolume API the engine plays. */
export const CDI_PLAYED = 'v1.65.0';

/** Whether the cluster serves CDI's DataVolumes (their CRD is there). */
async function cdiInstalled(rest: KubeRest): Promise<boolean> {
  try {
    await rest.request(
      'GET',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/datavolumes.cdi.kubevirt.io',
    );
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** Guest memory the sandbox's engine gives its VMs in all: half the machine's memory. */
export const SANDBOX_MEMORY_BUDGET = (): number => Math.floor(totalmem() / 2);

export interface LocalEngineStartOptions {
  kc: KubeConfig;
  /** Where VM folders and disk files go. */
  stateDir: string;
  /** Where the tiny Linux image is built once. */
  cacheDir: string;
  /** The KubeVirt release whose API the engine plays (the one vmplane is checked with). */
  kubevirtVersion: string;
  memoryCapBytes?: number;
  /** Guest memory the engine gives its VMs in all (half the machine's by default). */
  memoryBudgetBytes?: () => number;
  maxGraceMs?: number;
  /** The QEMU binary (qemu-system-x86_64 on PATH by default). */
  qemu?: string;
  /** The Debian 12 image (images/debian.ts), served by the library when given. */
  debianImage?: DebianImage;
  /** The CDI release whose API the engine plays where CDI's CRDs are installed and CDI is not. */
  cdiVersion?: string;
  /**
   * The StorageClass provisioners the engine plays: it provisions their claims' volumes, and
   * their StorageProfiles say what those volumes support.
   */
  provisioners?: string[];
  /** The nodes the engine plays (two, in two zones, by default). */
  nodes?: EngineNode[];
  logger?: Logger;
  log?: (line: string) => void;
}

export interface RunningLocalEngine {
  engine: LocalEngine;
  /** The node network the VMs sit on (services, NetworkPolicy, port-forward build on it); none: user-mode. */
  network: NodeNetwork | undefined;
  /** Whether the engine made the KubeVirt CR (false when one was already there). */
  madeKubeVirt: boolean;
  /** Whether the engine plays CDI (it made the CDI CR: CDI's CRDs are there and no CDI is). */
  playsCdi: boolean;
  library: LibraryServer;
  stop(): Promise<void>;
}

const KUBEVIRT_CR = `/apis/kubevirt.io/v1/namespaces/${ENGINE_NAMESPACE}/kubevirts/kubevirt`;

/** A KubeVirt CR in phase Deployed, as virt-operator leaves it, saying who plays KubeVirt. */
async function ensureKubeVirtCr(rest: KubeRest, version: string): Promise<boolean> {
  const list = await rest.request<{ items: unknown[] }>('GET', '/apis/kubevirt.io/v1/kubevirts');
  if (list.body.items.length) return false;
  await rest.create({
    apiVersion: 'kubevirt.io/v1',
    kind: 'KubeVirt',
    metadata: { name: 'kubevirt', namespace: ENGINE_NAMESPACE, labels: MANAGED_BY },
    spec: { configuration: {} },
  } as never);
  await rest.request('PATCH', `${KUBEVIRT_CR}/status`, {
    body: {
      status: {
        phase: 'Deployed',
        observedKubeVirtVersion: version,
        // What virt-operator always sets: the architecture new VMIs default to (this machine's).
        defaultArchitecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
        conditions: [
          {
            type: 'Available',
            status: 'True',
            reason: 'LocalEngine',
            message: `This is not KubeVirt: vmplane's local engine runs VMs under QEMU on this machine, playing part of KubeVirt ${version}'s API (docs/kubevirt.md lists what it serves).`,
          },
        ],
      },
    },
    contentType: 'application/merge-patch+json',
  });
  return true;
}

async function removeKubeVirtCr(rest: KubeRest): Promise<void> {
  try {
    const cr = (
      await rest.request<{ metadata: { uid: string; labels?: Record<string, string> } }>(
        'GET',
        KUBEVIRT_CR,
      )
    ).body;
    if (
      cr.metadata.labels?.['app.kubernetes.io/managed-by'] !==
      MANAGED_BY['app.kubernetes.io/managed-by']
    )
      return;
    await rest.request('DELETE', KUBEVIRT_CR, {
      body: { preconditions: { uid: cr.metadata.uid } },
    });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

export async function startLocalEngine(o: LocalEngineStartOptions): Promise<RunningLocalEngine> {
  const log = o.log ?? (() => undefined);
  const image = await ensureTinyLinux(o.cacheDir, log);
  const library: LibraryImage[] = [tinyLinuxLibrary(image)];
  const rest = new KubeRest(o.kc);
  const logger = o.logger ?? pino({ level: 'silent' });
  const manager = new Manager({ kc: o.kc, logger });
  const net = await startNodeNetwork(join(o.stateDir, 'network'), log);
  const engine = localEngine(manager, {
    network: net.network,
    stateDir: o.stateDir,
    image,
    library,
    memoryBudgetBytes: o.memoryBudgetBytes ?? SANDBOX_MEMORY_BUDGET,
    maxCpus: cpus().length,
    ...(o.memoryCapBytes !== undefined ? { memoryCapBytes: o.memoryCapBytes } : {}),
    ...(o.maxGraceMs !== undefined ? { maxGraceMs: o.maxGraceMs } : {}),
    ...(o.qemu ? { qemu: o.qemu } : {}),
    ...(o.provisioners ? { provisioners: o.provisioners } : {}),
    // Two nodes, so that the sandbox's VMs can live-migrate.
    nodes: o.nodes ?? TWO_NODES,
  });
  const ca = createCertificateAuthority('vmplane-local-engine-ca', 365);
  const serving = issueCertificate(ca, {
    commonName: ENGINE_SERVICE,
    dnsNames: [`${ENGINE_SERVICE}.${ENGINE_NAMESPACE}.svc`, 'localhost'],
    ipAddresses: ['127.0.0.1'],
    usages: ['server'],
    validityDays: 365,
  });
  const server = await startSubresourceServer({
    rest,
    engine,
    serving,
    auth: await frontProxyAuth(rest),
    log: (l) => logger.info(l),
    kubevirtVersion: o.kubevirtVersion,
  });
  const images = await libraryImages(image, undefined, o.debianImage);
  const libraryServer = await startLibraryServer({ images });
  let madeKubeVirt = false;
  let playsCdi = false;
  const stop = async (): Promise<void> => {
    await manager.stop();
    await engine.stopAll();
    net.stop();
    await server.close();
    await libraryServer.close();
    await unregisterSubresourceApi(rest).catch(() => undefined);
    if (madeKubeVirt) await removeKubeVirtCr(rest).catch(() => undefined);
    if (playsCdi) await removeCdiCr(rest).catch(() => undefined);
    rest.close();
  };
  try {
    await registerSubresourceApi(rest, server.port, ca.certPem);
    await waitForAvailable(rest);
    madeKubeVirt = await ensureKubeVirtCr(rest, o.kubevirtVersion);
    manager.add(engine.definition);
    // kube-proxy's and the network plugin's parts, where the engine has a namespace to program.
    if (net.network) {
      manager.add(servicesController(manager, net.network));
      manager.add(networkPolicyController(manager, net.network));
    }
    if (await cdiInstalled(rest)) playsCdi = await ensureCdiCr(rest, o.cdiVersion ?? CDI_PLAYED);
    if (playsCdi) {
      await ensureConfigOverhead(rest);
      const cdi = cdiController(manager, {
        stateDir: o.stateDir,
        library: { endpoint: libraryServer, images },
        ...(o.provisioners ? { provisioners: o.provisioners } : {}),
      });
      manager.add(cdi.definition);
      manager.add(storageProfileController(manager, o.provisioners ?? []));
    }
    await manager.start();
  } catch (e) {
    await stop();
    throw e;
  }
  return { engine, network: net.network, madeKubeVirt, playsCdi, library: libraryServer, stop };
}
