// What an instance's volume gives virt-handler (pure): a volume (persistentVolumeClaim, or
// dataVolume: the claim of the DataVolume's name, once the DataVolume is Succeeded) is the file of
// the PersistentVolume bound to the claim, booted raw. A claim not bound yet keeps the instance
// waiting, with why; a WaitForFirstConsumer claim is given this node first (the engine plays the
// scheduler's VolumeBinding plugin, which writes volume.kubernetes.io/selected-node). A disk made
// from the tiny Linux (imported from its library URL, or a clone the engine marked) boots its
// kernel, as KubeVirt's kernel boot does.
import type { LibraryImage, VolumeObject, VolumeWaiting } from '../volumes.ts';
import {
  ANN_SELECTED_NODE,
  volumeFile,
  type Claim,
  type StorageClass,
  type Volume,
} from './volume-file.ts';

/** CDI's annotation on a claim it imports over http. */
export const ANN_IMPORT_ENDPOINT = 'cdi.kubevirt.io/storage.import.endpoint';
/** The engine's mark on a claim whose bytes came from a library image with a kernel (a clone). */
export const ANN_KERNEL_FROM = 'local-engine.vmplane.io/kernel-from';

export interface ClaimDiskInput {
  /** The volume's kind and the claim's namespace and name. */
  kind: 'dataVolume' | 'claim';
  namespace: string;
  name: string;
  /** The DataVolume (dataVolume volumes): its phase. */
  dataVolume?: { status?: { phase?: string } };
  claim?: Claim;
  cls?: StorageClass;
  pv?: Volume;
  /** Whether the volume's file exists on this machine. */
  fileExists: (path: string) => boolean;
  /** The file's size in bytes. */
  sizeOf: (path: string) => number;
  library: readonly LibraryImage[];
  node: string;
}

export type ClaimDisk =
  | { kind: 'disk'; disk: VolumeObject }
  | { kind: 'waiting'; waiting: VolumeWaiting; selectNode?: boolean }
  | { kind: 'missing' };

/** The library image whose kernel a disk from this claim boots, if any. */
export function kernelImage(
  claim: Claim,
  library: readonly LibraryImage[],
): LibraryImage | undefined {
  const a = claim.metadata?.annotations ?? {};
  const image = library.find(
    (i) =>
      (a[ANN_IMPORT_ENDPOINT] && a[ANN_IMPORT_ENDPOINT] === i.url) || a[ANN_KERNEL_FROM] === i.name,
  );
  return image?.kernelBoot ? image : undefined;
}

const wait = (why: string, o: { selectNode?: boolean; noPod?: boolean } = {}): ClaimDisk => ({
  kind: 'waiting',
  waiting: { waiting: why, ...(o.noPod ? { noPod: true } : {}) },
  ...(o.selectNode ? { selectNode: true } : {}),
});

/** Why an instance waits for a claim not bound yet; a WaitForFirstConsumer one gets this node. */
function unbound(i: ClaimDiskInput, claim: Claim): ClaimDisk {
  const key = `${i.namespace}/${i.name}`;
  const selected = claim.metadata?.annotations?.[ANN_SELECTED_NODE];
  const phase = claim.status?.phase ?? 'Pending';
  if (i.cls?.volumeBindingMode === 'WaitForFirstConsumer')
    return wait(
      `claim ${key} is ${phase}: waiting for its volume to be provisioned on node ${selected ?? i.node} (WaitForFirstConsumer)`,
      { selectNode: !selected },
    );
  return wait(
    `0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims (claim ${key} is ${phase})`,
  );
}

/** The disk behind one instance volume, or why it must wait, or that its object is missing. */
export function claimDisk(i: ClaimDiskInput): ClaimDisk {
  const key = `${i.namespace}/${i.name}`;
  if (i.kind === 'dataVolume') {
    if (!i.dataVolume) return { kind: 'missing' };
    const phase = i.dataVolume.status?.phase;
    if (phase !== 'Succeeded')
      return wait(`DataVolume ${key} is ${phase || 'not provisioned yet'}, not Succeeded`, {
        noPod: true,
      });
  }
  const claim = i.claim;
  if (!claim?.metadata?.uid) return { kind: 'missing' };
  const volumeName = claim.spec?.volumeName;
  if (claim.status?.phase !== 'Bound' || !volumeName) return unbound(i, claim);
  const file = i.pv ? volumeFile(i.pv) : undefined;
  if (!file || !i.fileExists(file))
    return wait(`claim ${key} is bound to volume ${volumeName}, which has no file on this machine`);
  const image = kernelImage(claim, i.library);
  return {
    kind: 'disk',
    disk: {
      uid: claim.metadata.uid,
      sizeBytes: i.sizeOf(file),
      path: file,
      format: 'raw',
      claimName: i.name,
      volumeMode: i.pv?.spec?.volumeMode ?? 'Filesystem',
      accessModes: claim.spec?.accessModes ?? [],
      ...(image ? { image } : {}),
    },
  };
}
