// What vmplane knows of storage provisioners: the access-mode and volume-mode combinations each
// supports, best first, and how it clones. This is the one data table behind StorageProfiles;
// the admission webhook uses it too when a StorageProfile has not been written yet. Facts follow
// CDI's provisioner capabilities. Add a provisioner here, with its source, when users meet it.

export type AccessMode = 'ReadWriteOnce' | 'ReadOnlyMany' | 'ReadWriteMany' | 'ReadWriteOncePod';
export type VolumeMode = 'Block' | 'Filesystem';
export type CloneStrategy = 'copy' | 'snapshot' | 'csi-clone';

export interface ClaimPropertySet {
  accessModes: AccessMode[];
  volumeMode: VolumeMode;
}

export interface ProvisionerCapabilities {
  claimPropertySets: ClaimPropertySet[];
  cloneStrategy: CloneStrategy;
}

const RWX_BLOCK: ClaimPropertySet = { accessModes: ['ReadWriteMany'], volumeMode: 'Block' };
const RWO_BLOCK: ClaimPropertySet = { accessModes: ['ReadWriteOnce'], volumeMode: 'Block' };
const RWX_FS: ClaimPropertySet = { accessModes: ['ReadWriteMany'], volumeMode: 'Filesystem' };
const RWO_FS: ClaimPropertySet = { accessModes: ['ReadWriteOnce'], volumeMode: 'Filesystem' };

interface Entry {
  provisioners: string[];
  capabilities: (parameters: Record<string, string>) => ProvisionerCapabilities;
}

const fixed =
  (claimPropertySets: ClaimPropertySet[], cloneStrategy: CloneStrategy = 'csi-clone') =>
  (): ProvisionerCapabilities => ({ claimPropertySets, cloneStrategy });

export const PROVISIONER_TABLE: readonly Entry[] = [
  {
    provisioners: ['rbd.csi.ceph.com', 'openshift-storage.rbd.csi.ceph.com'],
    capabilities: fixed([RWX_BLOCK, RWO_BLOCK, RWO_FS]),
  },
  {
    provisioners: ['cephfs.csi.ceph.com', 'openshift-storage.cephfs.csi.ceph.com'],
    capabilities: fixed([RWX_FS, RWO_FS]),
  },
  {
    provisioners: ['nfs.csi.k8s.io', 'file.csi.azure.com', 'manila.csi.openstack.org'],
    capabilities: fixed([RWX_FS], 'copy'),
  },
  {
    provisioners: ['ebs.csi.aws.com'],
    capabilities: (p) => ({
      claimPropertySets: p.type === 'io2' ? [RWX_BLOCK, RWO_BLOCK] : [RWO_BLOCK],
      cloneStrategy: 'snapshot',
    }),
  },
  { provisioners: ['pd.csi.storage.gke.io'], capabilities: fixed([RWO_BLOCK, RWO_FS], 'snapshot') },
  {
    provisioners: ['csi.vsphere.vmware.com'],
    capabilities: (p) => ({
      claimPropertySets: (p['csi.storage.k8s.io/fstype'] ?? p.fstype ?? '').startsWith('nfs')
        ? [RWX_FS]
        : [RWO_BLOCK, RWO_FS],
      cloneStrategy: 'copy',
    }),
  },
  {
    provisioners: ['driver.longhorn.io'],
    capabilities: (p) => ({
      claimPropertySets: p.migratable === 'true' ? [RWX_BLOCK] : [RWO_BLOCK],
      cloneStrategy: 'csi-clone',
    }),
  },
  {
    provisioners: [
      'topolvm.io',
      'kubevirt.io.hostpath-provisioner',
      'kubevirt.io/hostpath-provisioner',
      'rancher.io/local-path',
      'hostpath.csi.k8s.io',
      'directpv-min-io',
    ],
    capabilities: fixed([RWO_FS], 'copy'),
  },
  {
    provisioners: ['pxd.portworx.com', 'kubernetes.io/portworx-volume'],
    capabilities: fixed([RWX_FS, RWX_BLOCK, RWO_FS, RWO_BLOCK], 'csi-clone'),
  },
];

/** What the table knows of a provisioner, or undefined when it does not know it. */
export function provisionerCapabilities(
  provisioner: string,
  parameters: Record<string, string> = {},
): ProvisionerCapabilities | undefined {
  const entry = PROVISIONER_TABLE.find((e) => e.provisioners.includes(provisioner));
  return entry?.capabilities(parameters);
}
