// The engine as an external dynamic provisioner, its decisions (pure): which claims it provisions,
// the PersistentVolume it writes for one, when a volume grows, when a released one goes, and the
// file behind a volume. Follows sig-storage-lib-external-provisioner v10 controller.go
// (shouldProvision, provisionClaimOperation, shouldDelete) and external-resizer's
// pkg/controller/controller.go (a claim asking for more than its status capacity).
// Files: a PV's folder is `<stateDir>/volumes/<pv name>`; a Filesystem volume's disk is the
// `disk.img` in it (where CDI writes on a filesystem volume), a Block volume's "device" is the
// folder's path itself (a regular raw file standing in for a block device).
import { join } from 'node:path';
import { parseQuantity } from '../../../api/src/quantity.ts';

export const ANN_PROVISIONER = 'volume.kubernetes.io/storage-provisioner';
export const ANN_PROVISIONER_BETA = 'volume.beta.kubernetes.io/storage-provisioner';
export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
export const PV_FINALIZER = 'external-provisioner.volume.kubernetes.io/finalizer';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  finalizers?: string[];
  deletionTimestamp?: string;
}

export interface Claim {
  metadata?: ObjectMeta;
  spec?: {
    accessModes?: string[];
    volumeMode?: string;
    volumeName?: string;
    storageClassName?: string;
    resources?: { requests?: { storage?: string } };
  };
  status?: {
    phase?: string;
    capacity?: { storage?: string };
    conditions?: { type: string; status: string }[];
  };
}

export interface StorageClass {
  metadata?: ObjectMeta;
  provisioner: string;
  reclaimPolicy?: string;
  volumeBindingMode?: string;
  allowVolumeExpansion?: boolean;
  mountOptions?: string[];
}

export interface Volume {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: {
    capacity?: { storage?: string };
    accessModes?: string[];
    volumeMode?: string;
    persistentVolumeReclaimPolicy?: string;
    storageClassName?: string;
    mountOptions?: string[];
    claimRef?: {
      apiVersion?: string;
      kind?: string;
      namespace?: string;
      name?: string;
      uid?: string;
      resourceVersion?: string;
    };
    local?: { path: string };
    nodeAffinity?: object;
  };
  status?: { phase?: string };
}

/** The file a guest's disk is for this volume (raw, sparse), or none when it is not a local one. */
export function volumeFile(pv: Volume): string | undefined {
  const path = pv.spec?.local?.path;
  if (!path) return undefined;
  return pv.spec?.volumeMode === 'Block' ? path : join(path, 'disk.img');
}

/** Where the engine keeps a provisioned volume. */
export const pvFolder = (stateDir: string, pvName: string): string =>
  join(stateDir, 'volumes', pvName);

/** A claim's requested size in bytes (0 when it asks for none). */
export function requestBytes(claim: Claim): number {
  const q = claim.spec?.resources?.requests?.storage;
  return q ? Number(parseQuantity(q).asInteger()) : 0;
}

const bytesOf = (q: string | undefined): number => (q ? Number(parseQuantity(q).asInteger()) : 0);

/** The provisioner a claim was handed to by kube-controller-manager's binder. */
export const claimProvisioner = (claim: Claim): string | undefined =>
  claim.metadata?.annotations?.[ANN_PROVISIONER] ??
  claim.metadata?.annotations?.[ANN_PROVISIONER_BETA];

export type ProvisionDecision =
  { provision: true; provisioner: string } | { provision: false; reason: string };

/**
 * Whether the engine provisions this claim now: not bound or named for a volume, handed to a
 * provisioner it plays, and (WaitForFirstConsumer) with one of the engine's nodes selected.
 */
export function shouldProvision(
  claim: Claim,
  cls: StorageClass | undefined,
  played: readonly string[],
  nodes: readonly string[],
): ProvisionDecision {
  const no = (reason: string): ProvisionDecision => ({ provision: false, reason });
  if (claim.metadata?.deletionTimestamp) return no('the claim is being deleted');
  if (claim.spec?.volumeName) return no(`the claim names volume ${claim.spec.volumeName}`);
  if (claim.status?.phase && claim.status.phase !== 'Pending')
    return no(`the claim is ${claim.status.phase}`);
  const provisioner = claimProvisioner(claim);
  if (!provisioner) return no(`the claim has no ${ANN_PROVISIONER} annotation yet`);
  if (!played.includes(provisioner))
    return no(`provisioner ${provisioner} is not one the engine plays (${played.join(', ')})`);
  if (!cls) return no(`storage class ${claim.spec?.storageClassName ?? '""'} not found`);
  if (cls.provisioner !== provisioner)
    return no(`storage class ${cls.metadata?.name} is provisioned by ${cls.provisioner}`);
  if (cls.volumeBindingMode === 'WaitForFirstConsumer') {
    const selected = claim.metadata?.annotations?.[ANN_SELECTED_NODE];
    if (!selected) return no('waiting for first consumer to be created before binding');
    if (!nodes.includes(selected))
      return no(`node ${selected} was selected, not one of the engine's (${nodes.join(', ')})`);
  }
  return { provision: true, provisioner };
}

/** The PersistentVolume the engine writes for a claim it provisions (kube-controller-manager binds it). */
export function provisionedVolume(o: {
  claim: Claim;
  cls: StorageClass;
  provisioner: string;
  /** The engine's nodes: its files are on the one machine they share, reachable from each. */
  nodes: readonly string[];
  stateDir: string;
}): Volume {
  const { claim, cls } = o;
  const name = `pvc-${claim.metadata?.uid ?? ''}`;
  const reclaim = cls.reclaimPolicy ?? 'Delete';
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name,
      annotations: { [ANN_PROVISIONED_BY]: o.provisioner },
      // Only a volume the provisioner will delete carries its finalizer (KEP-2644): a retained one
      // is the user's to delete.
      ...(reclaim === 'Delete' ? { finalizers: [PV_FINALIZER] } : {}),
    },
    spec: {
      capacity: { storage: claim.spec?.resources?.requests?.storage ?? '0' },
      accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
      volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
      persistentVolumeReclaimPolicy: reclaim,
      storageClassName: cls.metadata?.name ?? '',
      ...(cls.mountOptions?.length ? { mountOptions: cls.mountOptions } : {}),
      claimRef: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: claim.metadata?.namespace ?? '',
        name: claim.metadata?.name ?? '',
        uid: claim.metadata?.uid ?? '',
        ...(claim.metadata?.resourceVersion
          ? { resourceVersion: claim.metadata.resourceVersion }
          : {}),
      },
      local: { path: pvFolder(o.stateDir, name) },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [...o.nodes] }] },
          ],
        },
      },
    },
  };
}

export type Expansion =
  | { kind: 'none' }
  /** Grow the file and the volume's capacity, then the claim's status. */
  | { kind: 'grow'; bytes: number; size: string }
  /** The volume already has the size: only the claim's status is behind. */
  | { kind: 'finish'; size: string };

/**
 * What external-resizer does for a bound claim asking for more than its status capacity: grow the
 * volume (when the class allows expansion), or only finish the claim when the volume already grew.
 */
export function expansionFor(
  claim: Claim,
  pv: Volume | undefined,
  cls: StorageClass | undefined,
): Expansion {
  const size = claim.spec?.resources?.requests?.storage;
  if (!size || !pv || claim.status?.phase !== 'Bound') return { kind: 'none' };
  if (pv.spec?.claimRef?.uid !== claim.metadata?.uid) return { kind: 'none' };
  const want = bytesOf(size);
  if (want <= bytesOf(claim.status?.capacity?.storage)) return { kind: 'none' };
  if (want <= bytesOf(pv.spec?.capacity?.storage)) return { kind: 'finish', size };
  if (!cls?.allowVolumeExpansion) return { kind: 'none' };
  return { kind: 'grow', bytes: want, size };
}

/**
 * Whether the engine deletes this volume now: released from its claim, reclaimed by deletion, and
 * provisioned by a provisioner the engine plays (never another's).
 */
export function releasedToDelete(pv: Volume, played: readonly string[]): boolean {
  const by = pv.metadata?.annotations?.[ANN_PROVISIONED_BY];
  if (!by || !played.includes(by)) return false;
  if (pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return false;
  return pv.status?.phase === 'Released';
}
