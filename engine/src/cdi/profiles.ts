// The StorageProfile CDI publishes for each StorageClass (pure): its claim property sets from the
// user's spec, else from CDI's capabilities of well-known provisioners (a part of CDI v1.65
// pkg/storagecapabilities/storagecapabilities.go), else, for a provisioner the engine itself plays,
// what its volumes support (files on this machine: one node, ReadWriteOnce, Filesystem or Block).
// Follows pkg/controller/storageprofile-controller.go (reconcileStorageProfile).
import type { ClaimPropertySet } from './claim.ts';

const set = (mode: string, volumeMode: 'Filesystem' | 'Block'): ClaimPropertySet => ({
  accessModes: [mode],
  volumeMode,
});
const RWO_FILE = [set('ReadWriteOnce', 'Filesystem')];
const RWX_FILE = [set('ReadWriteMany', 'Filesystem')];
const RBD = [
  set('ReadWriteMany', 'Block'),
  set('ReadWriteOnce', 'Block'),
  set('ReadWriteOnce', 'Filesystem'),
];

/** Known provisioners and their capabilities, as CDI's table has them. */
export const KNOWN_CAPABILITIES: Readonly<Record<string, readonly ClaimPropertySet[]>> = {
  'kubevirt.io.hostpath-provisioner': RWO_FILE,
  'kubevirt.io/hostpath-provisioner': RWO_FILE,
  'k8s.io/minikube-hostpath': RWO_FILE,
  'nfs.csi.k8s.io': RWX_FILE,
  'k8s-sigs.io/nfs-subdir-external-provisioner': RWX_FILE,
  'kubernetes.io/rbd': RBD,
  'rbd.csi.ceph.com': RBD,
  'rook-ceph.rbd.csi.ceph.com': RBD,
  'cephfs.csi.ceph.com': [set('ReadWriteMany', 'Filesystem'), set('ReadWriteOnce', 'Filesystem')],
  'kubernetes.io/aws-ebs': [set('ReadWriteOnce', 'Block')],
  'ebs.csi.aws.com': [set('ReadWriteOnce', 'Block')],
  'kubernetes.io/gce-pd': [set('ReadWriteOnce', 'Block'), set('ReadWriteOnce', 'Filesystem')],
  'pd.csi.storage.gke.io': [set('ReadWriteOnce', 'Block'), set('ReadWriteOnce', 'Filesystem')],
  'driver.longhorn.io': [set('ReadWriteOnce', 'Block')],
  'csi.vsphere.vmware.com': [set('ReadWriteOnce', 'Block'), set('ReadWriteOnce', 'Filesystem')],
};

/** What the engine's own volumes support: files on this one machine. */
export const PLAYED_CAPABILITIES: readonly ClaimPropertySet[] = [
  set('ReadWriteOnce', 'Filesystem'),
  set('ReadWriteOnce', 'Block'),
];

export interface ProfileInput {
  className: string;
  provisioner: string;
  /** The StorageProfile's spec.claimPropertySets (the user's own choice), if any. */
  specSets?: ClaimPropertySet[];
  /** Provisioners the engine plays. */
  played: readonly string[];
}

export interface ProfileStatus {
  storageClass: string;
  provisioner: string;
  claimPropertySets?: ClaimPropertySet[];
}

/** The profile's status, or why the user's spec is refused. */
export function profileStatus(
  p: ProfileInput,
): { ok: true; status: ProfileStatus } | { ok: false; message: string } {
  const base = { storageClass: p.className, provisioner: p.provisioner };
  if (p.specSets?.length) {
    if (p.specSets.some((s) => !s.volumeMode || !s.accessModes?.length))
      return {
        ok: false,
        message: 'each ClaimPropertySet must provide both volume mode and access modes',
      };
    return { ok: true, status: { ...base, claimPropertySets: p.specSets } };
  }
  const sets = p.played.includes(p.provisioner)
    ? PLAYED_CAPABILITIES
    : KNOWN_CAPABILITIES[p.provisioner];
  return {
    ok: true,
    status: { ...base, ...(sets ? { claimPropertySets: sets.map((s) => ({ ...s })) } : {}) },
  };
}
