// Attaching a VirtualMachineDisk is a claim written on the disk at admission (annotation
// vmplane.io/attached-to) with a resourceVersion precondition: of two VMs admitted at once, by
// one webhook replica or two, only one write succeeds, and the other sees the claim and waits
// for it to come true (then it is refused) or to lapse. This file decides, from the claim and the
// VM it names (read live), whether a VM may take the disk, and whether the VM under admission is
// one the API server can have. The reads and the writes are in webhooks/src/disk-claims.ts.
// The key property: a claim naming a VM the API server does not have holds for IN_FLIGHT_MS at
// most and cannot be renewed, so reviews forged by another caller cannot keep a disk locked.
import type { AttachClaim } from '../../api/src/attach-claim.ts';
import type { Denial } from './vm.ts';

export { formatClaim, parseClaim, type AttachClaim } from '../../api/src/attach-claim.ts';

/** The VM a claim names, as read live: absent, or its UID and whether it still uses the disk. */
export type Holder = { uid: string; usesDisk: boolean } | undefined;

/**
 * How long a claim holds while no VM with its UID exists: the create it was written for is
 * between the webhook's answer and the API server's write, which takes milliseconds. Short, so
 * that a claim for a VM that never comes (a create refused later, or a review forged by someone
 * who is not the API server) frees the disk before another VM's admission, which waits for it
 * (WAIT_BUDGET_MS), runs out of time.
 */
export const IN_FLIGHT_MS = 2_500;

/**
 * How long one admission waits for an in-flight claim to come true (its VM appears: denied) or
 * lapse (taken). Under the webhook's timeout (5 s), with room for the reads and the write.
 */
export const WAIT_BUDGET_MS = 3_000;

export type ClaimDecision =
  | { take: false; mine: true }
  | { take: true }
  | { take: false; heldBy: string }
  /** A VM not created yet holds it until `until` (ms since the epoch): look again then. */
  | { take: false; inFlight: string; until: number };

/**
 * Whether `vm` may take the disk. A claim holds while the VM it names exists with its UID and
 * uses the disk, or, while no such VM exists yet, for IN_FLIGHT_MS after it was written. A claim
 * whose VM never came is void after that, whoever wrote it and whatever name it gives (a retried
 * create of the same name waits too: otherwise a forger could renew a claim forever by reusing
 * one name).
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
    if (holder.uid === claim.uid && holder.usesDisk) return { take: false, heldBy: claim.vm };
    return { take: true };
  }
  const written = Date.parse(claim.at);
  const age = now.getTime() - written;
  if (Number.isFinite(age) && age >= 0 && age < IN_FLIGHT_MS)
    return { take: false, inFlight: claim.vm, until: written + IN_FLIGHT_MS };
  return { take: true };
}

/**
 * What the API server has under the name of the VM being admitted, read live before any claim is
 * written: on CREATE nothing (the VM is written after admission), on UPDATE the VM with the
 * review's UID. Anything else writes no claim: a CREATE of a taken name fails in the API server
 * anyway ('skip'); an UPDATE of a VM the API server does not have is no real request ('unknown').
 */
export function requesterStanding(
  operation: 'CREATE' | 'UPDATE',
  uid: string,
  live: { uid?: string | undefined } | undefined,
): 'claim' | 'skip' | 'unknown' {
  if (operation === 'CREATE') return live ? 'skip' : 'claim';
  return live?.uid === uid ? 'claim' : 'unknown';
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
      ? `VirtualMachineDisk "${disk}" is being attached to VM "${heldBy}", whose creation is in progress; if that fails, the disk is free again within ${IN_FLIGHT_MS / 1000} s`
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
