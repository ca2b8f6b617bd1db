// Attaching a VirtualMachineDisk is a claim written on the disk at admission (annotation
// vmplane.io/attached-to) with a resourceVersion precondition: of two VMs admitted at once, by
// one webhook replica or two, only one write succeeds, and the other sees the claim and is
// refused. This file decides, from the claim and the VM it names (read live), whether a VM may
// take the disk. The reads and the write are in ../claims.ts.
import type { Denial } from './vm.ts';

export interface AttachClaim {
  /** The VM holding the disk (same namespace). */
  vm: string;
  /** Its UID (set before validating admission runs, even on CREATE). */
  uid: string;
  /** When the claim was written (RFC 3339). */
  at: string;
}

/** How long a claim whose VM does not exist yet still holds (its creation may be in flight). */
export const CLAIM_GRACE_MS = 30_000;

export function parseClaim(value: string | undefined): AttachClaim | undefined {
  if (!value) return undefined;
  try {
    const c = JSON.parse(value) as Partial<AttachClaim>;
    if (typeof c.vm === 'string' && typeof c.uid === 'string' && typeof c.at === 'string')
      return { vm: c.vm, uid: c.uid, at: c.at };
  } catch {
    // An unreadable claim (hand-edited) holds nothing.
  }
  return undefined;
}

export function formatClaim(c: AttachClaim): string {
  return JSON.stringify({ vm: c.vm, uid: c.uid, at: c.at });
}

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
  const age = now.getTime() - Date.parse(claim.at);
  if (Number.isFinite(age) && age >= 0 && age < CLAIM_GRACE_MS)
    return { take: false, heldBy: claim.vm, inFlight: true };
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
