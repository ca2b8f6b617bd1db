// What a KubeVirt VM's volumes become on this machine: one qcow2 file per DataVolume template
// (blank of the requested size, or from an image the local library holds) and per claim, and
// why a volume cannot be served. Pure: the engine makes the files.
import { parseQuantity } from '../../api/src/quantity.ts';

/** An image the engine holds, by the source URL a VirtualMachineImage gives for it. */
export interface LibraryImage {
  url: string;
  name: string;
}

export interface VolumeSpec {
  name: string;
  dataVolume?: { name: string };
  persistentVolumeClaim?: { claimName: string };
  cloudInitNoCloud?: object;
  containerDisk?: { image: string };
}

interface Storage {
  resources?: { requests?: { storage?: string } };
}

export interface DataVolumeTemplate {
  metadata?: { name?: string };
  spec?: {
    source?: {
      blank?: object;
      http?: { url: string };
      registry?: { url: string };
      pvc?: { name: string; namespace?: string };
    };
    storage?: Storage;
    pvc?: Storage;
  };
}

/** One disk file the VM needs, in the order of its volumes. */
export interface DiskFile {
  volume: string;
  /** Where it lives: a DataVolume's file goes with the VM, a claim's stays with the claim. */
  kind: 'dataVolume' | 'claim';
  /** The DataVolume's or the claim's name (the file's name). */
  name: string;
  sizeBytes: number;
  /** The library image it starts from, if any. */
  image?: string;
}

/** A Kubernetes object name (DNS subdomain): only such names become file names. */
export function isObjectName(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name);
}

export type VolumePlan =
  | { ok: true; disks: DiskFile[]; ignored: string[] }
  | { ok: false; reason: string; message: string };

const sizeOf = (s: Storage | undefined): number | undefined => {
  const q = s?.resources?.requests?.storage;
  return q ? Number(parseQuantity(q).asInteger()) : undefined;
};

/**
 * The disk files for the VM's volumes. `claimSize` gives a claim's requested size (undefined when
 * the claim does not exist). Cloud-init and container disks are listed as ignored: the tiny Linux
 * has no cloud-init, and container images cannot be pulled here.
 */
export function planVolumes(
  volumes: readonly VolumeSpec[],
  templates: readonly DataVolumeTemplate[],
  library: readonly LibraryImage[],
  claimSize: (name: string) => number | undefined,
): VolumePlan {
  const disks: DiskFile[] = [];
  const ignored: string[] = [];
  const held = library.map((i) => `${i.name} (${i.url})`).join(', ') || 'none';
  for (const v of volumes) {
    const named = v.dataVolume?.name ?? v.persistentVolumeClaim?.claimName;
    if (named !== undefined && !isObjectName(named))
      return {
        ok: false,
        reason: 'InvalidName',
        message: `volume ${v.name}: "${named}" is not a valid object name (lowercase letters, digits, '-' and '.')`,
      };
    if (v.dataVolume) {
      const t = templates.find((x) => x.metadata?.name === v.dataVolume?.name);
      if (!t)
        return {
          ok: false,
          reason: 'DataVolumeNotFound',
          message: `volume ${v.name}: DataVolume ${v.dataVolume.name} is not among the VM's dataVolumeTemplates; the local engine makes disks from templates only`,
        };
      const size = sizeOf(t.spec?.storage) ?? sizeOf(t.spec?.pvc);
      if (!size)
        return {
          ok: false,
          reason: 'DataVolumeSizeMissing',
          message: `volume ${v.name}: DataVolume ${v.dataVolume.name} asks for no size (spec.storage.resources.requests.storage)`,
        };
      const src = t.spec?.source ?? { blank: {} };
      const url = src.http?.url ?? src.registry?.url;
      if (src.pvc)
        return {
          ok: false,
          reason: 'ImportUnsupported',
          message: `volume ${v.name}: DataVolume ${v.dataVolume.name} clones claim ${src.pvc.name}; the local engine cannot clone claims (images it holds: ${held})`,
        };
      if (url) {
        const image = library.find((i) => i.url === url);
        if (!image)
          return {
            ok: false,
            reason: 'ImageUnavailable',
            message: `volume ${v.name}: the local engine cannot download ${url} (it uses no network); images it holds: ${held}`,
          };
        disks.push({
          volume: v.name,
          kind: 'dataVolume',
          name: v.dataVolume.name,
          sizeBytes: size,
          image: image.name,
        });
      } else
        disks.push({
          volume: v.name,
          kind: 'dataVolume',
          name: v.dataVolume.name,
          sizeBytes: size,
        });
    } else if (v.persistentVolumeClaim) {
      const size = claimSize(v.persistentVolumeClaim.claimName);
      if (size === undefined)
        return {
          ok: false,
          reason: 'ClaimNotFound',
          message: `volume ${v.name}: PersistentVolumeClaim ${v.persistentVolumeClaim.claimName} does not exist`,
        };
      disks.push({
        volume: v.name,
        kind: 'claim',
        name: v.persistentVolumeClaim.claimName,
        sizeBytes: size,
      });
    } else ignored.push(v.name);
  }
  return { ok: true, disks, ignored };
}

/** A claim's requested size from the PersistentVolumeClaim object. */
export function claimRequest(pvc: { spec?: Storage } | undefined): number | undefined {
  if (!pvc) return undefined;
  return sizeOf(pvc.spec) ?? 0;
}

/** A MAC for a card that names none: stable for the VM (from its uid), in QEMU's range. */
export function macFor(uid: string, index = 0): string {
  let h = 0x811c9dc5;
  for (const ch of `${uid}/${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  const b = [h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff].map((x) =>
    x.toString(16).padStart(2, '0'),
  );
  return `52:54:00:${b.join(':')}`;
}
