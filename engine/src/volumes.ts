// What a KubeVirt instance's volumes become on this machine, and what a DataVolume template's
// source gives. Pure: the engine makes the files and writes the statuses.
// - A DataVolume is provided only from a source the engine can really give: `blank`, or an http or
//   registry URL the local library holds (the disk is a copy-on-write file over the image, so it
//   holds the image's bytes). Any other source leaves the DataVolume not ready, in the phase CDI
//   would be in, with why (CDI's pkg/controller/datavolume: ImportScheduled, CloneScheduled, ...).
// - An instance's disk is the file of the PersistentVolume bound to its claim (a DataVolume's is
//   the claim of its name): storage/volume-file.ts says where; guest-disks.ts looks them up.
import { parseQuantity } from '../../api/src/quantity.ts';

/** An image the engine holds, by the source URL a VirtualMachineImage gives for it. */
export interface LibraryImage {
  url: string;
  name: string;
  /** The image file (a disk made from it is a copy-on-write layer over it). */
  path?: string;
  format?: 'qcow2' | 'raw';
  /** The kernel and initrd a guest booted from this image starts (KubeVirt's kernel boot). */
  kernelBoot?: { kernel: string; initrd: string; append: string };
}

export interface VolumeSpec {
  name: string;
  dataVolume?: { name: string };
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  cloudInitNoCloud?: object;
  containerDisk?: { image: string };
}

interface Storage {
  resources?: { requests?: { storage?: string } };
}

export interface DataVolumeSpec {
  source?: Record<string, unknown> & {
    blank?: object;
    http?: { url: string };
    registry?: { url: string };
    pvc?: { name: string; namespace?: string };
  };
  sourceRef?: { kind?: string; name: string; namespace?: string };
  storage?: Storage;
  pvc?: Storage;
}

export interface DataVolumeTemplate {
  metadata?: {
    name?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: DataVolumeSpec;
}

/** A Kubernetes object name (DNS subdomain). */
export function isObjectName(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name);
}

const sizeOf = (s: Storage | undefined): number | undefined => {
  const q = s?.resources?.requests?.storage;
  return q ? Number(parseQuantity(q).asInteger()) : undefined;
};

/** What a DataVolume's source gives here: a blank disk, a held image, or nothing (and why). */
export type SourcePlan =
  | { ok: true; sizeBytes: number; image?: LibraryImage }
  | { ok: false; phase: string; message: string };

/** The CDI phase a DataVolume of this source waits in before its data comes. */
function waitingPhase(spec: DataVolumeSpec): string {
  const src = spec.source ?? {};
  if (src.pvc || 'snapshot' in src) return 'CloneScheduled';
  if ('upload' in src) return 'UploadScheduled';
  if (spec.sourceRef) return 'Pending';
  return 'ImportScheduled';
}

export function dataVolumeSource(
  spec: DataVolumeSpec | undefined,
  library: readonly LibraryImage[],
): SourcePlan {
  const s = spec ?? {};
  const held = library.map((i) => `${i.name} (${i.url})`).join(', ') || 'none';
  const size = sizeOf(s.storage) ?? sizeOf(s.pvc);
  const src = s.source ?? {};
  const kinds = Object.keys(src);
  const url = src.http?.url ?? src.registry?.url;
  const image = url ? library.find((i) => i.url === url) : undefined;
  const refuse = (message: string): SourcePlan => ({ ok: false, phase: waitingPhase(s), message });
  if (s.sourceRef)
    return refuse(
      `the local engine cannot resolve sourceRef ${s.sourceRef.kind ?? 'DataSource'} ${s.sourceRef.name}: it holds only its library images (${held})`,
    );
  if (kinds.length === 0 || (kinds.length === 1 && src.blank)) {
    if (!size)
      return refuse('the DataVolume asks for no size (spec.storage.resources.requests.storage)');
    return { ok: true, sizeBytes: size };
  }
  if (url && image) {
    if (!image.path) return refuse(`the library image ${image.name} has no file`);
    return { ok: true, sizeBytes: size ?? 0, image };
  }
  if (url)
    return refuse(
      `the local engine cannot download ${url} (it uses no network); images it holds: ${held}`,
    );
  return refuse(
    `the local engine cannot provide a DataVolume from source ${kinds.join(', ')}; it provides blank disks and its library images (${held})`,
  );
}

/** One disk of an instance, in the order of its volumes. */
export interface DiskFile {
  volume: string;
  kind: 'dataVolume' | 'claim';
  /** The DataVolume's or claim's name. */
  name: string;
  /** The UID of that object: the file's name. */
  uid: string;
  sizeBytes: number;
  image?: LibraryImage;
  readOnly?: boolean;
  accessModes?: string[];
  /** The file behind the disk (storage/volume-file.ts: the bound volume's) and its format. */
  path?: string;
  format?: 'raw' | 'qcow2';
  /** The claim behind the disk (a DataVolume's is the claim of its name) and its volume mode. */
  claimName?: string;
  volumeMode?: string;
}

/** What the engine found for a volume's object when the guest starts. */
export interface VolumeObject {
  uid: string;
  sizeBytes: number;
  image?: LibraryImage;
  /** A claim's access modes (whether it is shared, for live migration). */
  accessModes?: string[];
  path?: string;
  format?: 'raw' | 'qcow2';
  claimName?: string;
  volumeMode?: string;
}

/** A volume whose object exists but cannot be used yet (a claim not bound, a DataVolume not done). */
export interface VolumeWaiting {
  waiting: string;
  /** KubeVirt makes no launcher Pod yet (a DataVolume not ready): nothing is unschedulable. */
  noPod?: boolean;
}

export type DiskPlan =
  | { ok: true; disks: DiskFile[]; ignored: string[] }
  | { ok: false; missingClaim: string }
  | ({ ok: false } & VolumeWaiting);

/** The object behind a volume: a DataVolume, a claim, or none (cloud-init, container disks). */
export function volumeRef(v: VolumeSpec): VolumeRef | undefined {
  if (v.dataVolume) return { kind: 'dataVolume', name: v.dataVolume.name };
  if (v.persistentVolumeClaim) return { kind: 'claim', name: v.persistentVolumeClaim.claimName };
  return undefined;
}

export interface VolumeRef {
  kind: 'dataVolume' | 'claim';
  name: string;
}

/**
 * The disk files for the instance's volumes. `lookup` gives the claim or DataVolume behind a
 * volume (undefined when it does not exist, as virt-controller's PVC lookup finds it; waiting, with
 * why, while it exists but cannot be used yet). Cloud-init and container disks are listed as
 * ignored: container images cannot be pulled here.
 */
export function planDisks(
  volumes: readonly VolumeSpec[],
  lookup: (v: VolumeRef) => VolumeObject | VolumeWaiting | undefined,
): DiskPlan {
  const disks: DiskFile[] = [];
  const ignored: string[] = [];
  for (const v of volumes) {
    const ref = volumeRef(v);
    if (!ref) {
      ignored.push(v.name);
      continue;
    }
    const found = isObjectName(ref.name) ? lookup(ref) : undefined;
    if (!found) return { ok: false, missingClaim: ref.name };
    if ('waiting' in found) return { ok: false, ...found };
    const { uid, sizeBytes, ...more } = found;
    disks.push({
      volume: v.name,
      ...ref,
      uid,
      sizeBytes,
      ...more,
      ...(v.persistentVolumeClaim?.readOnly ? { readOnly: true } : {}),
    });
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
