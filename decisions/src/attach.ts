// Attaching a VirtualMachineDisk is a claim written on the disk at admission (annotation
// vmplane.io/attached-to) with a resourceVersion precondition: of two VMs admitted at once, by
// one webhook replica or two, only one write succeeds, and the other sees the claim and is
// refused. This file decides, from the claim and the VM it names (read live), whether a VM may
// take the disk. The reads and the write are in ../claims.ts.
import { CLAIM_GRACE_MS, isRecent, type AttachClaim } from '../../api/src/attach-claim.ts';
import type { Denial } from './vm.ts';

export {
  CLAIM_GRACE_MS,
  formatClaim,
  parseClaim,
  type AttachClaim,
} from '../../api/src/attach-claim.ts';

/** The VM a claim names, as read live: absent, or its UID and whether it still uses the disk. */
export type Holder = { uid: string; usesDisk: boolean } | undefined;

export type ClaimDecision =
  { take: false; mine: true } | { take: true } | { take: false; heldBy: string; inFlight: boolean };

/**
 * Whether `vm` may take the disk. A claim holds while the VM it names exists with its UID and
 * uses the disk, or, for a VM not created yet, for CLAIM_GRACE_MS. A claim for the same VM name
 * whose VM does not exist is a retried create of that VM: the name is unique, so it may take it.
 */
export function decideClaim(
  claim: AttachClaim | undefined,
  vm: { name: string; uid: string },
  holder: Holder,
  now: Date,
): ClaimDecision {
  if (!claim) return { take: true };
  if (claim.uid === vm.uid) return { take: false, mine: true };
  if (holder) {
    if (holder.uid === claim.uid && holder.usesDisk)
      return { take: false, heldBy: claim.vm, inFlight: false };
    return { take: true };
  }
  if (claim.vm === vm.name) return { take: true };
  if (isRecent(claim, now)) return { take: false, heldBy: claim.vm, inFlight: true };
  return { take: true };
}

/** The denial for a disk another VM holds. */
export function attachedElsewhere(
  disk: string,
  index: number,
  heldBy: string,
  inFlight: boolean,
): Denial {
  return {
    field: `spec.disks[${index}].virtualMachineDiskName`,
    code: 409,
    message: inFlight
      ? `VirtualMachineDisk "${disk}" is being attached to VM "${heldBy}", whose creation is in progress; if that fails, the disk is free again within ${CLAIM_GRACE_MS / 1000} s`
      : `VirtualMachineDisk "${disk}" is already attached to VM "${heldBy}"; detach it there first`,
  };
}

/** The VirtualMachineDisks a VM update attaches that it did not use before, with their index. */
export function newlyAttached(
  spec: { disks?: { virtualMachineDiskName?: string }[] } | undefined,
  oldSpec: { disks?: { virtualMachineDiskName?: string }[] } | undefined,
): { disk: string; index: number }[] {
  const before = new Set((oldSpec?.disks ?? []).map((d) => d.virtualMachineDiskName));
  return (spec?.disks ?? []).flatMap((d, index) =>
    d.virtualMachineDiskName && !before.has(d.virtualMachineDiskName)
      ? [{ disk: d.virtualMachineDiskName, index }]
      : [],
  );
}
