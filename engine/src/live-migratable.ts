// KubeVirt's LiveMigratable condition, as virt-handler v1.7.0 computes it
// (pkg/virt-handler/vm.go calculateLiveMigrationCondition; interfaces first, then disks): the
// first reason that holds wins. Pure. The engine cannot migrate yet; the condition says whether
// KubeVirt would.

export interface MigrationFacts {
  /** The binding of the interface on the pod network (masquerade, bridge, ...), if there is one. */
  podBinding?: string;
  /** The instance carries kubevirt.io/allow-pod-bridge-network-live-migration. */
  bridgeAllowed?: boolean;
  /** Each claim or DataVolume volume: its claim, and its access modes when the claim is known. */
  claims: { claimName: string; accessModes?: string[] }[];
}

export function liveMigratable(f: MigrationFacts): {
  type: 'LiveMigratable';
  status: 'True' | 'False';
  reason?: string;
  message?: string;
} {
  if (
    f.podBinding &&
    f.podBinding !== 'masquerade' &&
    !(f.podBinding === 'bridge' && f.bridgeAllowed)
  )
    return {
      type: 'LiveMigratable',
      status: 'False',
      reason: 'InterfaceNotLiveMigratable',
      message:
        'cannot migrate VMI which does not use masquerade, bridge with kubevirt.io/allow-pod-bridge-network-live-migration VM annotation or a migratable plugin to connect to the pod network',
    };
  for (const c of f.claims) {
    if (!c.accessModes)
      return {
        type: 'LiveMigratable',
        status: 'False',
        reason: 'DisksNotLiveMigratable',
        message: `cannot migrate VMI: Unable to determine if PVC ${c.claimName} is shared, live migration requires that all PVCs must be shared (using ReadWriteMany access mode)`,
      };
    if (!c.accessModes.includes('ReadWriteMany'))
      return {
        type: 'LiveMigratable',
        status: 'False',
        reason: 'DisksNotLiveMigratable',
        message: `cannot migrate VMI: PVC ${c.claimName} is not shared, live migration requires that all PVCs must be shared (using ReadWriteMany access mode)`,
      };
  }
  return { type: 'LiveMigratable', status: 'True' };
}
