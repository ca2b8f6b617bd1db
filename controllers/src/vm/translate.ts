// The translation of a vmplane VirtualMachine into what KubeVirt runs: a kubevirt.io/v1
// VirtualMachine with its disks as CDI DataVolume templates. A pure function, tested against
// golden files; the reconciler only diffs and applies its output.
import type {
  V1beta1DataVolumeSource,
  V1beta1DataVolumeSpec,
} from '@kubevirt-ui-ext/kubevirt-api/containerized-data-importer';
import type {
  V1DataVolumeTemplateSpec,
  V1Disk,
  V1GPU,
  V1HostDevice,
  V1Interface,
  V1Network,
  V1Probe,
  V1VirtualMachine,
  V1Volume,
} from '@kubevirt-ui-ext/kubevirt-api/kubevirt';
import type {
  VirtualMachine,
  VirtualMachineClass,
  VirtualMachineDisk,
} from '../../../api/generated/types.ts';
import { parseQuantity } from '../../../api/src/quantity.ts';
import type { AnyImage } from '../../../kube/src/lookups.ts';
import {
  Annotations,
  API_VERSION,
  Labels,
  MANAGER,
  reservationOf,
} from '../../../api/src/wellknown.ts';
import { bootDataVolumeName, diskDataVolumeName } from './names.ts';
import type { NetworkLike } from '../network/types.ts';
import { networkData, type GuestInterface } from './network-data.ts';

export const MANAGED_BY = { [Labels.managedBy]: MANAGER };

/** The hardware in effect: from the class, or from status.class while a running VM keeps it. */
export interface EffectiveClass {
  name: string;
  cpus: number;
  memory: string;
  reservation: 'Guaranteed' | 'BestEffort';
  generation: number;
  devices?: VirtualMachineClass['spec']['hardware']['devices'];
  evictionStrategy?: VirtualMachineClass['spec']['evictionStrategy'];
}

export interface TranslationOptions {
  /** BestEffort VMs request 1/cpuOvercommit of their vCPUs (default 10: a 10% reservation). */
  cpuOvercommit: number;
  /** BestEffort VMs request 1/memoryOvercommit of their memory (default 1: memory is not overcommitted, as that risks OOM kills). */
  memoryOvercommit: number;
}

export const DEFAULT_TRANSLATION_OPTIONS: TranslationOptions = {
  cpuOvercommit: 10,
  memoryOvercommit: 1,
};

export interface TranslationInput {
  vm: VirtualMachine;
  vmClass: EffectiveClass;
  image?: AnyImage;
  /** VirtualMachineDisks the VM references, by name. */
  disks: Record<string, VirtualMachineDisk | undefined>;
  /** Networks (vmplane.io Network) the VM's interfaces name, by name; absent: a NetworkAttachmentDefinition of that name. */
  networks?: Record<string, NetworkLike | undefined>;
  options?: TranslationOptions;
}

export function effectiveClassOf(c: VirtualMachineClass): EffectiveClass {
  return {
    name: c.metadata.name ?? '',
    cpus: c.spec.hardware.cpus,
    memory: c.spec.hardware.memory,
    reservation: reservationOf(c),
    generation: c.metadata.generation ?? 0,
    ...(c.spec.hardware.devices ? { devices: c.spec.hardware.devices } : {}),
    ...(c.spec.evictionStrategy ? { evictionStrategy: c.spec.evictionStrategy } : {}),
  };
}

/** Bytes as the largest binary unit that divides them, for readable manifests. */
export function formatBytes(bytes: bigint): string {
  for (const [unit, shift] of [
    ['Ti', 40n],
    ['Gi', 30n],
    ['Mi', 20n],
    ['Ki', 10n],
  ] as const) {
    const size = 1n << shift;
    if (bytes % size === 0n && bytes >= size) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

function resources(
  c: EffectiveClass,
  o: TranslationOptions,
): { requests: Record<string, string>; limits?: Record<string, string> } {
  const memBytes = parseQuantity(c.memory).asInteger();
  if (c.reservation === 'Guaranteed') {
    const r = { cpu: String(c.cpus), memory: formatBytes(memBytes) };
    return { requests: r, limits: { ...r } };
  }
  const cpuMilli = Math.max(1, Math.floor((c.cpus * 1000) / o.cpuOvercommit));
  // Round the memory request up to whole MiB.
  const mib = 1n << 20n;
  const reqBytes = (memBytes / BigInt(Math.round(o.memoryOvercommit * 1000))) * 1000n;
  const memReq = ((reqBytes + mib - 1n) / mib) * mib;
  return { requests: { cpu: `${cpuMilli}m`, memory: formatBytes(memReq) } };
}

function imageSource(image: AnyImage, vmNamespace: string): V1beta1DataVolumeSource {
  const s = image.spec.source;
  if (s.http)
    return {
      http: { url: s.http.url, ...(s.http.secretRef ? { secretRef: s.http.secretRef } : {}) },
    };
  if (s.registry) return { registry: { url: s.registry.url } };
  return {
    pvc: {
      name: s.pvc?.name ?? '',
      namespace: s.pvc?.namespace ?? image.metadata.namespace ?? vmNamespace,
    },
  };
}

function storage(
  d: { size?: string; storageClassName?: string; accessModes?: string[]; volumeMode?: string },
  fallbackSize?: string,
): V1beta1DataVolumeSpec['storage'] {
  return {
    ...(d.storageClassName ? { storageClassName: d.storageClassName } : {}),
    ...(d.accessModes?.length ? { accessModes: [...d.accessModes] as never } : {}),
    ...(d.volumeMode ? { volumeMode: d.volumeMode as never } : {}),
    resources: { requests: { storage: d.size ?? fallbackSize ?? '10Gi' } },
  };
}

function probe(p: NonNullable<VirtualMachine['spec']['readinessProbe']>): V1Probe {
  const timing = {
    ...(p.initialDelaySeconds !== undefined ? { initialDelaySeconds: p.initialDelaySeconds } : {}),
    periodSeconds: p.periodSeconds ?? 10,
  };
  // The published typings drop `port` (an IntOrString) from these actions; the API has it.
  if (p.tcpSocket) return { tcpSocket: { port: p.tcpSocket.port } as never, ...timing };
  if (p.httpGet)
    return { httpGet: { port: p.httpGet.port, path: p.httpGet.path ?? '/' } as never, ...timing };
  return { guestAgentPing: {}, ...timing };
}

/**
 * A DataVolume template's name, its VM label and the VM's UID (KubeVirt copies both onto the
 * DataVolume). They help people and selectors find a VM's DataVolumes; ownership is decided by
 * the controller owner reference KubeVirt sets, never by these.
 */
function templateMetadata(dv: string, vm: VirtualMachine): V1DataVolumeTemplateSpec['metadata'] {
  return {
    name: dv,
    labels: { [Labels.vm]: vm.metadata.name ?? '', ...MANAGED_BY },
    ...(vm.metadata.uid ? { annotations: { [Annotations.ownerUid]: vm.metadata.uid } } : {}),
  };
}

interface Storage {
  disks: V1Disk[];
  volumes: V1Volume[];
  templates: V1DataVolumeTemplateSpec[];
}

/** The boot disk, the data disks and the cloud-init disk, with their volumes and DataVolume templates. */
function translateStorage(input: TranslationInput, name: string, namespace: string): Storage {
  const spec = input.vm.spec;
  const out: Storage = { disks: [], volumes: [], templates: [] };
  if (spec.image && input.image) {
    const dv = bootDataVolumeName(name);
    out.disks.push({ name: 'boot', bootOrder: 1, disk: { bus: 'virtio' } });
    out.volumes.push({ name: 'boot', dataVolume: { name: dv } });
    out.templates.push({
      metadata: templateMetadata(dv, input.vm),
      spec: {
        source: imageSource(input.image, namespace),
        storage: storage(spec.bootDisk ?? {}, input.image.spec.size),
      },
    });
  }
  for (const d of spec.disks ?? []) {
    out.disks.push({ name: d.name, disk: { bus: 'virtio' }, ...(d.boot ? { bootOrder: 1 } : {}) });
    if (d.virtualMachineDiskName) {
      const existing = input.disks[d.virtualMachineDiskName];
      out.volumes.push({
        name: d.name,
        persistentVolumeClaim: {
          claimName: existing?.status?.claimName ?? d.virtualMachineDiskName,
        },
      });
    } else {
      const dv = diskDataVolumeName(name, d.name);
      out.volumes.push({ name: d.name, dataVolume: { name: dv } });
      out.templates.push({
        metadata: templateMetadata(dv, input.vm),
        spec: { source: { blank: {} }, storage: storage(d) },
      });
    }
  }
  const ci = spec.bootstrap?.cloudInit;
  // The user's network data wins; else vmplane's, when the guest needs more than DHCP on one NIC.
  const netData = ci?.networkData ?? networkData(interfacesOf(spec), input.networks ?? {});
  if (ci || netData !== undefined) {
    out.disks.push({ name: 'cloudinit', disk: { bus: 'virtio' } });
    out.volumes.push({
      name: 'cloudinit',
      cloudInitNoCloud: {
        ...(ci?.userData !== undefined ? { userData: ci.userData } : {}),
        ...(ci?.secretRef ? { secretRef: { name: ci.secretRef.name } } : {}),
        ...(netData !== undefined ? { networkData: netData } : {}),
      },
    });
  }
  return out;
}

/** The VM's interfaces (one on the pod network when it lists none), with the fields the guest needs. */
function interfacesOf(spec: VirtualMachine['spec']): GuestInterface[] {
  const listed = spec.network?.interfaces ?? [];
  if (!listed.length) return [{ name: 'default' }];
  return listed.map((i) => {
    const extra = i as { ipAddress?: string };
    return {
      name: i.name,
      ...(i.network ? { network: i.network } : {}),
      ...(i.macAddress ? { macAddress: i.macAddress } : {}),
      ...(extra.ipAddress ? { ipAddress: extra.ipAddress } : {}),
    };
  });
}

/**
 * Interfaces and networks: the pod network (masquerade) by default and for a Network of type Pod;
 * an L2 Network through the NetworkAttachmentDefinition vmplane writes under its name (bridge);
 * any other name is a NetworkAttachmentDefinition in the VM's namespace (bridge).
 */
function translateNetwork(
  spec: VirtualMachine['spec'],
  known: Record<string, NetworkLike | undefined>,
): { interfaces: V1Interface[]; networks: V1Network[] } {
  const interfaces: V1Interface[] = [];
  const networks: V1Network[] = [];
  for (const i of interfacesOf(spec)) {
    const mac = i.macAddress ? { macAddress: i.macAddress } : {};
    if (i.network && known[i.network]?.spec.type !== 'Pod') {
      interfaces.push({ name: i.name, bridge: {}, ...mac });
      networks.push({ name: i.name, multus: { networkName: i.network } });
    } else {
      interfaces.push({ name: i.name, masquerade: {}, ...mac });
      networks.push({ name: i.name, pod: {} });
    }
  }
  return { interfaces, networks };
}

/** The class's GPUs (one entry per device when count > 1) and host devices. */
function translateDevices(vmClass: EffectiveClass): {
  gpus?: V1GPU[];
  hostDevices?: V1HostDevice[];
} {
  const gpus: V1GPU[] = (vmClass.devices?.gpus ?? []).flatMap((g) =>
    Array.from({ length: g.count ?? 1 }, (_, k) => ({
      name: (g.count ?? 1) > 1 ? `${g.name}-${k}` : g.name,
      deviceName: g.deviceName,
    })),
  );
  const hostDevices: V1HostDevice[] = (vmClass.devices?.hostDevices ?? []).map((h) => ({
    name: h.name,
    deviceName: h.deviceName,
  }));
  return { ...(gpus.length ? { gpus } : {}), ...(hostDevices.length ? { hostDevices } : {}) };
}

/**
 * The VM's own labels, carried to its instances and so to their launcher pods (KubeVirt copies a
 * VMI's labels to its pod), where NetworkPolicy and Services select VMs; KubeVirt's own keys are
 * left to KubeVirt.
 */
export const instanceLabels = (vm: VirtualMachine): Record<string, string> =>
  Object.fromEntries(
    Object.entries(vm.metadata.labels ?? {}).filter(([k]) => !/(^|\.)kubevirt\.io\//.test(k)),
  );

/** Name, labels, the class it was built from, and the vmplane VM as its controlling owner. */
function translateMetadata(
  vm: VirtualMachine,
  vmClass: EffectiveClass,
): V1VirtualMachine['metadata'] {
  const name = vm.metadata.name ?? '';
  return {
    name,
    namespace: vm.metadata.namespace ?? '',
    labels: { [Labels.vm]: name, ...MANAGED_BY },
    annotations: {
      [Annotations.class]: vmClass.name,
      [Annotations.classGeneration]: String(vmClass.generation),
    },
    ...(vm.metadata.uid
      ? {
          ownerReferences: [
            {
              apiVersion: API_VERSION,
              kind: 'VirtualMachine',
              name,
              uid: vm.metadata.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        }
      : {}),
  };
}

export function translate(input: TranslationInput): V1VirtualMachine {
  const { vm, vmClass } = input;
  const o = input.options ?? DEFAULT_TRANSLATION_OPTIONS;
  const name = vm.metadata.name ?? '';
  const spec = vm.spec;
  const { disks, volumes, templates } = translateStorage(input, name, vm.metadata.namespace ?? '');
  const { interfaces, networks } = translateNetwork(spec, input.networks ?? {});
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: translateMetadata(vm, vmClass),
    spec: {
      // Suspended VMs keep running; the controller pauses them through KubeVirt's subresource.
      runStrategy: spec.powerState === 'PoweredOff' ? 'Halted' : 'Always',
      ...(templates.length ? { dataVolumeTemplates: templates } : {}),
      template: {
        metadata: {
          labels: { ...instanceLabels(vm), [Labels.vm]: name, 'kubevirt.io/domain': name },
        },
        spec: {
          domain: {
            cpu: { cores: vmClass.cpus, sockets: 1, threads: 1 },
            memory: { guest: vmClass.memory },
            resources: resources(vmClass, o),
            devices: { disks, interfaces, ...translateDevices(vmClass) },
          },
          networks,
          volumes,
          ...(spec.zone ? { nodeSelector: { [Labels.zone]: spec.zone } } : {}),
          // The VM's own strategy, else its class's (KubeVirt's cluster default otherwise).
          ...((spec.evictionStrategy ?? vmClass.evictionStrategy)
            ? { evictionStrategy: spec.evictionStrategy ?? vmClass.evictionStrategy }
            : {}),
          ...(spec.readinessProbe ? { readinessProbe: probe(spec.readinessProbe) } : {}),
          ...(spec.powerOffMode === 'Hard' ? { terminationGracePeriodSeconds: 0 } : {}),
        },
      },
    },
  };
}
