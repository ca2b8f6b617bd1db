// The disk claim a VM holds on a VirtualMachineDisk (annotation vmplane.io/attached-to): its
// format, shared by the webhook that writes it at admission and the disk controller that keeps it
// tidy. JSON: the VM's name, its UID, and when the claim was written.

export interface AttachClaim {
  /** The VM holding the disk (same namespace). */
  vm: string;
  /** Its UID (set before validating admission runs, even on CREATE). */
  uid: string;
  /** When the claim was written (RFC 3339). */
  at: string;
}

/** How long a claim whose VM does not exist (yet) still holds: its creation may be in flight. */
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

/** Whether a claim was written less than CLAIM_GRACE_MS ago. */
export function isRecent(c: AttachClaim, now: Date): boolean {
  const age = now.getTime() - Date.parse(c.at);
  return Number.isFinite(age) && age >= 0 && age < CLAIM_GRACE_MS;
}

/**
 * What the disk controller does with a disk's claim, given the VMs (from its cache) that use the
 * disk: keep it; write one for the only VM using a disk that has none (a disk attached before
 * claims existed) or whose claim names a VM that let it go; or remove one that names no user.
 * A claim written moments ago is left alone (its VM may not be in the cache yet), and so is a
 * disk two VMs use (nothing to decide that would not take it from one of them).
 */
export function claimUpkeep(
  claim: AttachClaim | undefined,
  users: { name: string; uid: string }[],
  now: Date,
): { write: AttachClaim } | { remove: true } | undefined {
  if (claim && (users.some((u) => u.uid === claim.uid) || isRecent(claim, now))) return undefined;
  if (users.length === 1) {
    const u = users[0] as { name: string; uid: string };
    return { write: { vm: u.name, uid: u.uid, at: now.toISOString() } };
  }
  if (claim && users.length === 0) return { remove: true };
  return undefined;
}
