// An instance's cloudInitNoCloud volume on this machine: which volume, the disk its disks[] entry
// makes of it (a CD-ROM or a disk, on the bus given, KubeVirt's defaults otherwise), and the
// Secrets it names, read from the instance's namespace as virt-controller mounts them into the
// launcher pod (`<volume>-udata`, `<volume>-ndata`, pkg/virt-controller/services/rendervolumes.go).
// A Secret that does not exist keeps the guest from starting, in kubelet's words for the pod's
// volume that cannot be mounted. The seed itself is cloud-init-seed.ts's.
import { getLive } from '../../kube/src/ownership.ts';
import type { KubeRest } from '../../kube/src/rest.ts';
import { rmSync } from 'node:fs';
import type { EngineContext, KvVmi } from './engine-context.ts';
import type { InstanceObservation } from './instance-status.ts';
import {
  makeSeedIso,
  noCloudData,
  seedFiles,
  seedHostname,
  type NoCloudSource,
  type SecretData,
} from './cloud-init-seed.ts';
import type { SeedDisk } from './qemu.ts';

export interface CloudInitPlan {
  volume: string;
  source: NoCloudSource;
  cdrom: boolean;
  bus: SeedDisk['bus'];
  /** The Secrets to read: for the user data, for the network data. */
  secrets: { user?: string; network?: string };
}

type DiskEntry = {
  name: string;
  disk?: { bus?: string };
  cdrom?: { bus?: string };
  lun?: object;
};

/** The seed's device from its disks[] entry, with KubeVirt's defaults. */
function seedDevice(
  volume: string,
  entry: DiskEntry | undefined,
): { ok: true; cdrom: boolean; bus: SeedDisk['bus'] } | { ok: false; message: string } {
  if (entry?.lun)
    return {
      ok: false,
      message: `spec.domain.devices.disks[${volume}]: a lun is not accepted for a cloudInitNoCloud volume; accepted: disk or cdrom`,
    };
  const cdrom = !!entry?.cdrom;
  const bus = (cdrom ? entry?.cdrom?.bus : entry?.disk?.bus) ?? (cdrom ? 'sata' : 'virtio');
  if ((bus !== 'virtio' && bus !== 'sata') || (cdrom && bus === 'virtio'))
    return {
      ok: false,
      message: `spec.domain.devices.disks[${volume}].${cdrom ? 'cdrom' : 'disk'}.bus: "${bus}" is not accepted by the local engine; accepted: ${cdrom ? 'sata' : 'virtio or sata'}`,
    };
  return { ok: true, cdrom, bus };
}

/**
 * The first cloudInitNoCloud volume (KubeVirt reads the first) and its disk, or why the engine
 * cannot attach it (pure). KubeVirt's defaults: a cdrom on sata, a disk on virtio, and a volume
 * with no disks[] entry a virtio disk.
 */
export function cloudInitPlan(
  vmi: KvVmi,
): { ok: true; plan?: CloudInitPlan } | { ok: false; message: string } {
  const volume = (vmi.spec.volumes ?? []).find((v) => v.cloudInitNoCloud);
  if (!volume) return { ok: true };
  // KubeVirt's JSON names the user data's Secret `secretRef` (schema.go CloudInitNoCloudSource's
  // UserDataSecretRef), the network data's `networkDataSecretRef`.
  const raw = volume.cloudInitNoCloud as NoCloudSource & { secretRef?: { name?: string } };
  const source: NoCloudSource = {
    ...raw,
    ...(raw.secretRef ? { userDataSecretRef: raw.secretRef } : {}),
  };
  const entry = (vmi.spec.domain?.devices?.disks as DiskEntry[] | undefined)?.find(
    (d) => d.name === volume.name,
  );
  const device = seedDevice(volume.name, entry);
  if (!device.ok) return device;
  const { cdrom, bus } = device;
  const user = source.userDataSecretRef?.name;
  const network = source.networkDataSecretRef?.name;
  return {
    ok: true,
    plan: {
      volume: volume.name,
      source,
      cdrom,
      bus,
      secrets: { ...(user ? { user } : {}), ...(network ? { network } : {}) },
    },
  };
}

/** kubelet's event for a launcher pod whose Secret volume cannot be mounted. */
export const missingSecretMessage = (volume: string, kind: 'udata' | 'ndata', secret: string) =>
  `MountVolume.SetUp failed for volume "${volume}-${kind}" : secret "${secret}" not found`;

/** A Secret's data decoded, or undefined when there is no such Secret. */
export type ReadSecret = (namespace: string, name: string) => Promise<SecretData | undefined>;

export type SeedResult =
  | { ok: true; seed?: SeedDisk }
  | { ok: false; waiting: true; message: string }
  | { ok: false; waiting: false; message: string };

/**
 * Makes the instance's NoCloud seed in `dir` (noCloud.iso) and says how to attach it; or why it
 * cannot: waiting for a Secret (the guest does not start, as its pod would not), or data that
 * cannot make a seed (the guest fails, as virt-launcher would fail to sync the domain).
 */
export async function prepareSeed(vmi: KvVmi, dir: string, read: ReadSecret): Promise<SeedResult> {
  const planned = cloudInitPlan(vmi);
  if (!planned.ok) return { ok: false, waiting: false, message: planned.message };
  const p = planned.plan;
  if (!p) return { ok: true };
  const ns = vmi.metadata?.namespace ?? '';
  const secrets: { user?: SecretData; network?: SecretData } = {};
  for (const [which, kind] of [
    ['user', 'udata'],
    ['network', 'ndata'],
  ] as const) {
    const name = p.secrets[which];
    if (!name) continue;
    const data = await read(ns, name);
    if (!data)
      return { ok: false, waiting: true, message: missingSecretMessage(p.volume, kind, name) };
    secrets[which] = data;
  }
  try {
    const data = noCloudData(p.volume, p.source, secrets);
    const firmware = vmi.spec.domain?.firmware as { uuid?: string } | undefined;
    const files = seedFiles({
      ...data,
      // The firmware UUID, as KubeVirt; an instance without one has its uid (stable per instance,
      // where KubeVirt would make a random one).
      instanceId: firmware?.uuid || vmi.metadata?.uid || vmi.metadata?.name || 'instance',
      hostname: seedHostname({
        metadata: { name: vmi.metadata?.name ?? '' },
        spec: vmi.spec as { hostname?: string },
      }),
    });
    const path = await makeSeedIso(dir, files);
    return { ok: true, seed: { path, name: p.volume, cdrom: p.cdrom, bus: p.bus } };
  } catch (e) {
    return { ok: false, waiting: false, message: (e as Error).message };
  }
}

/** A Secret's data, decoded, as the API server has it now; undefined when there is none. */
export async function readSecret(
  rest: KubeRest,
  namespace: string,
  name: string,
): Promise<SecretData | undefined> {
  const s = await getLive<{ data?: Record<string, string> }>(
    rest,
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
  );
  if (!s) return undefined;
  return Object.fromEntries(
    Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

/**
 * The instance while its seed cannot be made: a missing Secret keeps it Scheduling, as its launcher
 * pod would wait (kubelet's FailedMount event says why); data that makes no seed fails it, as
 * virt-launcher would fail to sync the domain.
 */
export function seedObservation(seed: Extract<SeedResult, { ok: false }>): InstanceObservation {
  if (seed.waiting) return { phase: 'Scheduling' };
  return {
    phase: 'Failed',
    failure: { reason: 'Synchronizing with the Domain failed.', message: seed.message },
  };
}

/**
 * The instance's seed made in its folder, or what its status is instead (the folder is then
 * removed; a missing Secret is also a FailedMount event, kubelet's on the launcher pod).
 */
export async function instanceSeed(
  ctx: EngineContext,
  vmi: KvVmi,
  dir: string,
): Promise<{ ok: true; seed?: SeedDisk } | { ok: false; observation: InstanceObservation }> {
  const seed = await prepareSeed(vmi, dir, (ns, name) => readSecret(ctx.manager.rest, ns, name));
  if (seed.ok) return seed;
  rmSync(dir, { recursive: true, force: true });
  if (seed.waiting) await ctx.manager.event(vmi, 'Warning', 'FailedMount', seed.message);
  return { ok: false, observation: seedObservation(seed) };
}
